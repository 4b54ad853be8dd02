// fsync_floor: what one durable atomic file replacement costs on this disk, the floor under push-creds.
//
//   fsync_floor DIR [--bytes N] [--runs R]
//
// Repeats the sequence an atomic state write needs: create DIR/.fsync_floor.tmp, write N bytes (default
// 10240), fsync it, rename it over DIR/fsync_floor.dat, fsync DIR. Prints
// {"runs":R,"bytes":N,"p50_ms":..,"min_ms":..,"max_ms":..} and removes its file.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fsync_floor: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: fsync_floor DIR [--bytes N] [--runs R]\n");
    return 64;
  }
  const std::string dir = argv[1];
  long bytes = 10240;
  long runs = 20;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i];
    long v = std::strtol(argv[i + 1], nullptr, 10);
    if (flag == "--bytes" && v > 0) {
      bytes = v;
    } else if (flag == "--runs" && v > 0) {
      runs = v;
    } else {
      std::fprintf(stderr, "fsync_floor: bad argument %s\n", argv[i]);
      return 64;
    }
  }
  const std::string tmp = dir + "/.fsync_floor.tmp";
  const std::string dst = dir + "/fsync_floor.dat";
  const std::vector<char> data(static_cast<std::size_t>(bytes), 'x');
  std::vector<double> ms;
  for (long r = 0; r < runs; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) fail("open " + tmp);
    if (write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size())) fail("write");
    if (fsync(fd) != 0) fail("fsync");
    close(fd);
    if (rename(tmp.c_str(), dst.c_str()) != 0) fail("rename");
    int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) fail("fsync " + dir);
    close(dfd);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  unlink(dst.c_str());
  std::sort(ms.begin(), ms.end());
  std::printf("{\"runs\":%ld,\"bytes\":%ld,\"p50_ms\":%.3f,\"min_ms\":%.3f,\"max_ms\":%.3f}\n", runs, bytes,
              ms[ms.size() / 2], ms.front(), ms.back());
  return 0;
}
