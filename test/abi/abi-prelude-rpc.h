/*
 * Included by the generated ABI checks when event2/rpc.h is covered.
 *
 * layout-x86_64.txt describes struct evrpc_req__example, the request
 * struct that EVRPC_HEADER(example, ...) declares in user code; expand the
 * macro so that the check can measure it.
 */
struct example_req;
struct example_rply;
EVRPC_HEADER(example, example_req, example_rply)
