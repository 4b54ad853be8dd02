#include "broker/transport/unix_socket_file.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "broker/core/unique_fd.hpp"
#include "tests/unit/support/temp_dir.hpp"

namespace remo::server {
namespace {

namespace fs = std::filesystem;

bool connects(const fs::path& path) {
  const core::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string& text = path.native();
  if (text.size() >= sizeof address.sun_path) return false;
  std::memcpy(address.sun_path, text.c_str(), text.size() + 1);
  return ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
}

unsigned mode_of(const fs::path& path) {
  struct stat info {};
  ::lstat(path.c_str(), &info);
  return info.st_mode & 07777U;
}

TEST(UnixSocketFile, BindsWithTheRequestedModeAndListens) {
  test_support::TempDir dir;
  auto bound = bind_socket_file({dir / "p.sock", 0660, std::nullopt});
  ASSERT_TRUE(bound.ok()) << bound.error().message;
  EXPECT_EQ(mode_of(dir / "p.sock"), 0660U);
  EXPECT_TRUE(connects(dir / "p.sock"));
}

TEST(UnixSocketFile, ChownsToTheRequestedGroup) {
  test_support::TempDir dir;
  const gid_t group = ::getgid();  // a group this process may always give a file to
  auto bound = bind_socket_file({dir / "p.sock", 0660, group});
  ASSERT_TRUE(bound.ok()) << bound.error().message;
  struct stat info {};
  ASSERT_EQ(::lstat((dir / "p.sock").c_str(), &info), 0);
  EXPECT_EQ(info.st_gid, group);
}

TEST(UnixSocketFile, ReplacesAStaleSocketFromACrash) {
  test_support::TempDir dir;
  { auto crashed = bind_socket_file({dir / "p.sock", 0600, std::nullopt}); }  // fd closed, file left behind
  ASSERT_TRUE(fs::is_socket(dir / "p.sock"));
  auto bound = bind_socket_file({dir / "p.sock", 0600, std::nullopt});
  ASSERT_TRUE(bound.ok()) << bound.error().message;
  EXPECT_TRUE(connects(dir / "p.sock"));
}

TEST(UnixSocketFile, NeverReplacesALiveSocket) {
  test_support::TempDir dir;
  auto live = bind_socket_file({dir / "p.sock", 0600, std::nullopt});
  ASSERT_TRUE(live.ok());
  auto second = bind_socket_file({dir / "p.sock", 0600, std::nullopt});
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("another process"), std::string::npos);
  EXPECT_TRUE(connects(dir / "p.sock"));
}

TEST(UnixSocketFile, NeverReplacesSomethingThatIsNotASocket) {
  test_support::TempDir dir;
  std::ofstream(dir / "p.sock") << "precious";
  auto bound = bind_socket_file({dir / "p.sock", 0600, std::nullopt});
  ASSERT_FALSE(bound.ok());
  EXPECT_EQ(bound.error().code, "internal_error");
  EXPECT_TRUE(fs::is_regular_file(dir / "p.sock"));
}

TEST(UnixSocketFile, RefusesPathsTooLongForSunPath) {
  test_support::TempDir dir;
  auto bound = bind_socket_file({dir / (std::string(120, 'x') + ".sock"), 0600, std::nullopt});
  ASSERT_FALSE(bound.ok());
  EXPECT_NE(bound.error().message.find("longer than"), std::string::npos);
}

TEST(UnixSocketFile, RemovesOnlyTheFileItBound) {
  test_support::TempDir dir;
  auto first = bind_socket_file({dir / "p.sock", 0600, std::nullopt});
  ASSERT_TRUE(first.ok());
  ::close(first->release());  // the first broker stopped listening...
  auto second = bind_socket_file({dir / "p.sock", 0600, std::nullopt});  // ...and a new one took the path
  ASSERT_TRUE(second.ok());
  first->remove_file();
  EXPECT_TRUE(fs::is_socket(dir / "p.sock"));
  second->remove_file();
  EXPECT_FALSE(fs::exists(dir / "p.sock"));
}

}  // namespace
}  // namespace remo::server
