#include "broker/daemon/hardening.hpp"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <string>

#include "broker/transport/errno_text.hpp"

namespace remo::daemon {

using server::errno_text;

namespace {

// sodium_malloc and SecureBuffer carry on unlocked when mlock is refused (a container without
// CAP_IPC_LOCK and a tiny RLIMIT_MEMLOCK); probe once so an operator hears about it.
bool memory_can_be_locked() {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  void* probe = ::mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (probe == MAP_FAILED) return false;
  const bool locked = ::mlock(probe, page) == 0;
  const int saved = errno;
  ::munmap(probe, page);
  errno = saved;
  return locked;
}

}  // namespace

HardeningReport harden_process() {
  HardeningReport report;
  ::umask(077);
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    report.warnings.push_back("prctl(PR_SET_DUMPABLE, 0) failed: " + errno_text());
  }
  // Under the unit, LimitCORE=0 has done this already and the syscall filter denies setrlimit (~@resources):
  // only lower the limit when it is not zero yet.
  const rlimit no_core{0, 0};
  rlimit core{};
  const bool core_already_off =
      ::getrlimit(RLIMIT_CORE, &core) == 0 && core.rlim_cur == 0 && core.rlim_max == 0;
  if (!core_already_off && ::setrlimit(RLIMIT_CORE, &no_core) != 0) {
    report.warnings.push_back("setrlimit(RLIMIT_CORE, 0) failed: " + errno_text());
  }
  if (!memory_can_be_locked()) {
    rlimit memlock{};
    ::getrlimit(RLIMIT_MEMLOCK, &memlock);
    report.warnings.push_back(
        "secret memory cannot be locked (mlock: " + errno_text() + ", RLIMIT_MEMLOCK " +
        (memlock.rlim_cur == RLIM_INFINITY ? std::string("unlimited") : std::to_string(memlock.rlim_cur)) +
        " bytes): secrets may be swapped to disk; raise LimitMEMLOCK= or grant CAP_IPC_LOCK");
  }
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;  // NOLINT: the C API's constant
  if (::sigaction(SIGPIPE, &ignore, nullptr) != 0) {
    report.warnings.push_back("ignoring SIGPIPE failed: " + errno_text());
  }
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0) {
    if (files.rlim_cur < files.rlim_max) {
      files.rlim_cur = files.rlim_max;
      if (::setrlimit(RLIMIT_NOFILE, &files) != 0) {
        report.warnings.push_back("raising the open-files limit failed: " + errno_text());
        ::getrlimit(RLIMIT_NOFILE, &files);
      }
    }
    report.open_files_limit = files.rlim_cur;
  }
  return report;
}

}  // namespace remo::daemon
