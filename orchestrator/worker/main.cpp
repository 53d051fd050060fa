// radflow-worker: runs one step attempt (one rank) or describes a plugin.
#include "orchestrator/worker/worker_cli.h"

int main(int argc, char** argv) { return radflow::worker_main(argc, argv); }
