// What radflow-worker does about processes its plugin started: it becomes a child
// subreaper, so that descendants orphaned by their parents (also those that called
// setsid()) are re-parented to the worker instead of init and stay findable in its
// tree; after the plugin's run() returns it kills and reaps every one of them, so
// that nothing a plugin started outlives its attempt.
//
// Call from the worker's main thread only; these touch process-wide state.
#pragma once

namespace radflow {

// prctl(PR_SET_CHILD_SUBREAPER). False if the kernel refused.
bool become_child_subreaper();

// SIGKILLs every descendant of this process and reaps them, for at most about two
// seconds. Returns how many processes were killed.
int stop_descendants();

}  // namespace radflow
