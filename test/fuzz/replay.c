/*
 * replay.c: a main() for building a fuzz target without libFuzzer.
 *
 *   fuzz-TARGET-replay PATH...
 *
 * Feeds every regular file named, and every regular file directly inside
 * every directory named (in name order, so runs are reproducible), to
 * LLVMFuzzerTestOneInput once.  A mismatch aborts inside the target.
 * Exits 1 when no input was found at all, so a test pointing at a
 * missing or empty corpus fails instead of passing vacuously.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz-common.h"

/* Inputs larger than this are not seeds; refuse rather than truncate. */
#define REPLAY_MAX_INPUT (1024 * 1024)

static int
run_file(const char *path)
{
    FILE *f;
    uint8_t *data;
    size_t n;

    f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    data = malloc(REPLAY_MAX_INPUT + 1);
    if (!data) {
        fclose(f);
        return -1;
    }
    n = fread(data, 1, REPLAY_MAX_INPUT + 1, f);
    fclose(f);
    if (n > REPLAY_MAX_INPUT) {
        fprintf(stderr, "replay: %s: larger than %d bytes\n", path,
            REPLAY_MAX_INPUT);
        free(data);
        return -1;
    }
    /* A private copy of exactly n bytes lets ASan see over-reads. */
    {
        uint8_t *exact = malloc(n ? n : 1);
        if (!exact) {
            free(data);
            return -1;
        }
        memcpy(exact, data, n);
        free(data);
        LLVMFuzzerTestOneInput(exact, n);
        free(exact);
    }
    return 0;
}

static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns the number of files run, or -1 on an error. */
static int
run_dir(const char *dir)
{
    DIR *d;
    struct dirent *e;
    char **names = NULL, path[4096];
    size_t n = 0, cap = 0, i;
    int count = 0;
    struct stat st;

    d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **grown;
            cap = cap ? cap * 2 : 64;
            grown = realloc(names, cap * sizeof(*names));
            if (!grown)
                break;
            names = grown;
        }
        names[n] = strdup(e->d_name);
        if (names[n])
            n++;
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof(*names), cmp_names);
    for (i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (run_file(path) < 0)
                count = -1;
            else if (count >= 0)
                count++;
        }
        free(names[i]);
    }
    free(names);
    return count;
}

int
main(int argc, char **argv)
{
    struct stat st;
    int i, total = 0, r;

    for (i = 1; i < argc; i++) {
        if (stat(argv[i], &st) < 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        if (S_ISDIR(st.st_mode)) {
            r = run_dir(argv[i]);
        } else {
            r = run_file(argv[i]) < 0 ? -1 : 1;
        }
        if (r < 0)
            return 1;
        total += r;
    }
    printf("replay: %d inputs ran without a mismatch\n", total);
    return total > 0 ? 0 : 1;
}
