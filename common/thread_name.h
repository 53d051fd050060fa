// Names the calling thread, so `top -H`, `ps -L`, gdb and perf show what each of
// radflowd's threads is (rf-scheduler, rf-db-writer, rf-attempt, ...).
#pragma once

#include <pthread.h>

namespace radflow {

// Linux keeps 15 characters; a longer name is cut there. Best effort: a
// failure only leaves the inherited name.
inline void name_this_thread(const char* name) {
  char cut[16] = {};
  for (int i = 0; i < 15 && name[i] != '\0'; ++i) cut[i] = name[i];
  (void)pthread_setname_np(pthread_self(), cut);
}

}  // namespace radflow
