// Issue 12, items 14-16: the control server fails closed.
//   - strict HTTP/1.1 framing (RFC 9112 §6): frame_request() on its own, and
//     a real server (in process, on 127.0.0.1:0) fed raw bytes over a socket:
//     a badly framed request gets 400 and its connection is closed, so the
//     request smuggled behind it is never answered;
//   - one server per port: a port another socket listens on is refused,
//     even when that socket allows SO_REUSEPORT sharing;
//   - configuration hygiene: a tokens file that group or others may read or
//     write, and base URLs with user info, a backslash or white space.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "cutover/base/clock.h"
#include "cutover/base/file_system.h"
#include "cutover/hash/sha256.h"
#include "cutover/routing/config.h"
#include "cutover/server/control_server.h"
#include "cutover/server/http_framing.h"
#include "test_util.h"

namespace cutover::server {
namespace {

using ::testing::HasSubstr;
using testing::token_line;
using testing::TempDir;
using Kind = RequestFrame::Kind;

// --- frame_request -----------------------------------------------------------------

const FramingLimits k_limits{.max_header_bytes = 256, .max_body_bytes = 64};

RequestFrame frame(std::string_view data) { return frame_request(data, k_limits); }

TEST(FailClosedFraming, WellFramedRequestsEndWhereTheirFramingSays) {
  std::string get = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
  RequestFrame f = frame(get + "GET /b HTTP/1.1\r\n");
  ASSERT_EQ(f.kind, Kind::complete);
  EXPECT_EQ(f.begin, 0u);
  EXPECT_EQ(f.end, get.size());

  // Blank lines before the request line are skipped.
  f = frame("\r\n\r\n" + get);
  ASSERT_EQ(f.kind, Kind::complete);
  EXPECT_EQ(f.begin, 4u);
  EXPECT_EQ(f.end, 4 + get.size());

  std::string post = "POST /e HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
  f = frame(post + "GET");
  ASSERT_EQ(f.kind, Kind::complete);
  EXPECT_EQ(f.end, post.size());
  // Identical repeated Content-Length values are one value (RFC 9110 §8.6).
  f = frame("POST /e HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 005\r\n\r\nhello");
  ASSERT_EQ(f.kind, Kind::complete) << f.problem;

  // A GET with a body is framed by its Content-Length.
  std::string get_body = "GET /a HTTP/1.1\r\nContent-Length: 17\r\n\r\nGET /b HTTP/1.1\r\n";
  f = frame(get_body);
  ASSERT_EQ(f.kind, Kind::complete);
  EXPECT_EQ(f.end, get_body.size());

  std::string chunked =
      "POST /e HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n5;name=v\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-T: "
      "1\r\n\r\n";
  f = frame(chunked + "GET /");
  ASSERT_EQ(f.kind, Kind::complete) << f.problem;
  EXPECT_EQ(f.end, chunked.size());
}

TEST(FailClosedFraming, EveryPrefixOfAGoodRequestWaitsForMore) {
  for (std::string request :
       {std::string("POST /e HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"),
        std::string("POST /e HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
        std::string("\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")}) {
    for (size_t n = 0; n < request.size(); ++n) {
      RequestFrame f = frame(std::string_view(request).substr(0, n));
      EXPECT_EQ(f.kind, Kind::incomplete) << n << ": " << request.substr(0, n) << " / " << f.problem;
    }
    EXPECT_EQ(frame(request).kind, Kind::complete) << request;
  }
}

TEST(FailClosedFraming, BadFramingIsInvalidAndSaysWhy) {
  const std::pair<std::string, std::string> cases[] = {
      {"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       "both Content-Length and Transfer-Encoding"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", "both Content-Length"},
      {"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", "different values"},
      {"POST / HTTP/1.1\r\nContent-Length: 3x\r\n\r\nabc", "not all digits"},
      {"POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc", "not all digits"},
      {"POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc", "not all digits"},
      {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "not all digits"},
      {"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", "not all digits"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5zz\r\nhello\r\n0\r\n\r\n", "chunk size"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", "chunk size"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n", "chunk size"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", "chunk size"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXY0\r\n\r\n", "does not end in CRLF"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n", "bare LF"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "other than 'chunked'"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", "other than 'chunked'"},
      {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "HTTP/1.0"},
      {"GET / HTTP/1.1\nHost: x\n\n", "bare LF in the request line"},
      {"GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", "bare LF in the header block"},
      {"GET / HTTP/1.1\r\nHost: x\r\n\n", "bare LF"},
      {"\nGET / HTTP/1.1\r\n\r\n", "bare LF"},
      {"GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", "bare CR"},
      {"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", "obsolete line folding"},
      {"GET / HTTP/1.1\r\nContent-Length : 5\r\n\r\nhello", "white space between a field name"},
      {"GET / HTTP/1.1\r\nNo colon here\r\n\r\n", "without ':'"},
      {"GET / HTTP/1.1\r\n: empty\r\n\r\n", "no name"},
      {"GET / HTTP/1.1\r\nX\x01Y: 1\r\n\r\n", "not a token character"},
      {std::string("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 26), "NUL"},
  };
  for (const auto& [request, fragment] : cases) {
    RequestFrame f = frame(request);
    EXPECT_EQ(f.kind, Kind::invalid) << request;
    EXPECT_THAT(f.problem, HasSubstr(fragment)) << request;
  }
}

TEST(FailClosedFraming, BareLineEndsAreRefusedBeforeTheRequestIsWhole) {
  // No waiting for a blank line that a bare-LF client will never send.
  EXPECT_EQ(frame("GET / HTTP/1.1\nHost").kind, Kind::invalid);
  EXPECT_EQ(frame("GET / HTTP/1.1\r\nHost: x\n").kind, Kind::invalid);
  EXPECT_EQ(frame("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nq").kind, Kind::invalid);
}

TEST(FailClosedFraming, OverTheLimitsIsTooLarge) {
  EXPECT_EQ(frame("GET /" + std::string(300, 'a')).kind, Kind::too_large);
  EXPECT_EQ(frame("GET / HTTP/1.1\r\nX: " + std::string(300, 'a')).kind, Kind::too_large);
  std::string blank_lines;
  for (int i = 0; i < 200; ++i) blank_lines += "\r\n";
  EXPECT_EQ(frame(blank_lines).kind, Kind::too_large);
  EXPECT_EQ(frame("POST / HTTP/1.1\r\nContent-Length: 65\r\n\r\n").kind, Kind::too_large);
  EXPECT_EQ(frame("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n").kind, Kind::too_large);
  EXPECT_EQ(frame("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFFFFFF\r\n").kind,
            Kind::too_large);
  std::string chunks = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 10; ++i) chunks += "8\r\n12345678\r\n";
  EXPECT_EQ(frame(chunks).kind, Kind::too_large);
}

// --- a real server, raw bytes --------------------------------------------------------

// Writes `text` to a new file created with `mode` (never wider on disk).
void write_private(const std::string& path, const std::string& text, mode_t mode = 0600) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::fchmod(fd, mode);  // the umask may have narrowed it
  ::close(fd);
}

// routes.json naming tokens.txt (mode 0600) in `dir`.
std::string write_setup(const TempDir& dir,
                        const std::string& config = R"({"mode": "rust", "tokens_file": "tokens.txt"})") {
  write_private(dir.file("tokens.txt"), token_line("viewer", "bob", "view-secret"));
  testing::write_text(dir.file("routes.json"), config);
  return dir.file("routes.json");
}

ServerOptions options_for(const TempDir& dir, int port = 0) {
  ServerOptions o;
  o.config_path = dir.file("routes.json");
  o.state_dir = dir.file("state");
  o.port = port;
  o.threads = 2;
  return o;
}

// A connected TCP socket to 127.0.0.1:port (-1 on failure).
int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  // A guard against a hang, not a timing assertion: a server that never
  // closes the connection fails the test instead of stalling it.
  timeval guard{20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof guard);
  return fd;
}

struct Exchange {
  std::string bytes;      // all the server sent
  bool closed = false;    // it closed the connection (rather than the guard expiring)
  bool sent_all = false;  // every byte of the request was sent (no reset from the server)
  std::vector<int> statuses;
  std::vector<std::string> bodies;
  std::string rest;  // bytes after the last whole response
};

// Splits what the server sent into responses (each framed by its Content-Length).
void split_responses(Exchange& x) {
  std::string_view s = x.bytes;
  while (!s.empty()) {
    size_t end = s.find("\r\n\r\n");
    if (s.substr(0, 9) != "HTTP/1.1 " || end == std::string_view::npos) break;
    std::string head = std::string(s.substr(0, end + 2));
    size_t length = 0;
    for (std::string name : {"Content-Length: ", "content-length: "}) {
      size_t at = head.find("\r\n" + name);
      if (at != std::string::npos) length = std::stoul(head.substr(at + 2 + name.size()));
    }
    if (s.size() < end + 4 + length) break;
    x.statuses.push_back(std::stoi(std::string(s.substr(9, 3))));
    x.bodies.emplace_back(s.substr(end + 4, length));
    s.remove_prefix(end + 4 + length);
  }
  x.rest = std::string(s);
}

// Sends `request` in one write and reads until the server closes the
// connection.
Exchange talk(int port, std::string_view request) {
  Exchange x;
  int fd = connect_to(port);
  if (fd < 0) return x;
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  x.sent_all = sent == request.size();
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      x.bytes.append(buf, static_cast<size_t>(n));
      continue;
    }
    x.closed = n == 0 || errno == ECONNRESET;
    break;
  }
  ::close(fd);
  split_responses(x);
  return x;
}

class FailClosedServer : public ::testing::Test {
 protected:
  void SetUp() override {
    write_setup(dir_);
    auto srv = ControlServer::create(options_for(dir_), base::real_file_system(), base::system_clock());
    ASSERT_TRUE(srv) << srv.error().message();
    server_ = std::move(*srv);
    auto port = server_->bind();
    ASSERT_TRUE(port) << port.error().message();
    port_ = *port;
    runner_ = std::thread([this] { (void)server_->run(); });
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (runner_.joinable()) runner_.join();
  }

  // The request, then a request smuggled behind it on the same connection.
  Exchange with_smuggled(const std::string& request) {
    return talk(port_, request + "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  }

  static void expect_one_400_then_closed(const Exchange& x, const std::string& fragment, const std::string& label) {
    EXPECT_TRUE(x.closed) << label;
    ASSERT_EQ(x.statuses, std::vector<int>{400}) << label << "\n" << x.bytes;
    EXPECT_THAT(x.bodies[0], HasSubstr("\"code\":\"invalid_request\"")) << label;
    EXPECT_THAT(x.bodies[0], HasSubstr(fragment)) << label;
    EXPECT_THAT(x.bytes, HasSubstr("Connection: close\r\n")) << label;
    EXPECT_EQ(x.rest, "") << label;
    EXPECT_THAT(x.bytes, ::testing::Not(HasSubstr("\"status\":\"ready\"")))
        << label << ": the smuggled request was answered";
  }

  TempDir dir_;
  std::unique_ptr<ControlServer> server_;
  std::thread runner_;
  int port_ = 0;
};

const std::string k_evaluate_head =
    "POST /api/v1/control/route-split/evaluate HTTP/1.1\r\nHost: x\r\n"
    "Authorization: Bearer view-secret\r\nContent-Type: application/json\r\n";

TEST_F(FailClosedServer, ContentLengthAndTransferEncodingTogetherIs400AndCloses) {
  expect_one_400_then_closed(
      with_smuggled(k_evaluate_head + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
      "both Content-Length and Transfer-Encoding", "CL then TE");
  expect_one_400_then_closed(
      with_smuggled(k_evaluate_head + "Transfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n"),
      "both Content-Length and Transfer-Encoding", "TE then CL");
}

TEST_F(FailClosedServer, DifferingContentLengthsAre400AndClose) {
  expect_one_400_then_closed(
      with_smuggled(k_evaluate_head + "Content-Length: 0\r\nContent-Length: 16\r\n\r\n{\"path\":\"/chat\"}"),
      "different values", "0 then 16");
}

TEST_F(FailClosedServer, ContentLengthThatIsNotAllDigitsIs400AndCloses) {
  for (std::string value : {"16x", "+16", "16, 16", " 1 6", "0x10"}) {
    expect_one_400_then_closed(with_smuggled(k_evaluate_head + "Content-Length: " + value + "\r\n\r\n{\"path\":\"/chat\"}"),
                               "not all digits", value);
  }
}

TEST_F(FailClosedServer, BadChunkSizeIs400AndCloses) {
  for (std::string body : {"zz\r\n{\"path\":\"/chat\"}\r\n0\r\n\r\n", "10zz\r\n{\"path\":\"/chat\"}\r\n0\r\n\r\n",
                           "0x10\r\n{\"path\":\"/chat\"}\r\n0\r\n\r\n", "-1\r\n\r\n0\r\n\r\n"}) {
    expect_one_400_then_closed(with_smuggled(k_evaluate_head + "Transfer-Encoding: chunked\r\n\r\n" + body), "chunk size",
                               body);
  }
}

TEST_F(FailClosedServer, BareLineFeedsAre400AndClose) {
  // Whole requests with bare LF, and one with a single bare LF among CRLFs.
  expect_one_400_then_closed(with_smuggled("GET /healthz HTTP/1.1\nHost: x\n\n"), "bare LF", "all bare LF");
  expect_one_400_then_closed(with_smuggled("GET /healthz HTTP/1.1\r\nHost: x\nContent-Length: 0\r\n\r\n"), "bare LF",
                             "one bare LF");
  expect_one_400_then_closed(with_smuggled("GET /healthz HTTP/1.1\r\nHost: x\r\n folded: 1\r\n\r\n"),
                             "obsolete line folding", "obs-fold");
}

TEST_F(FailClosedServer, TheRefusalSurvivesAClientThatKeepsSending) {
  // The server answers 400 as soon as the header block is wrong, while the
  // client is still sending 16 MiB (more than the socket buffers hold): the
  // server must read and drop the rest (lingering close), not reset the
  // connection, which fails the client's sends and can destroy the 400
  // before the client reads it.
  std::string request = k_evaluate_head + "Content-Length: 1x\r\n\r\n" + std::string(size_t{16} << 20, 'a');
  Exchange x = talk(port_, request);
  EXPECT_TRUE(x.sent_all) << "the server reset the connection";
  EXPECT_TRUE(x.closed);
  ASSERT_EQ(x.statuses, std::vector<int>{400}) << x.bytes;
  EXPECT_THAT(x.bodies[0], HasSubstr("not all digits"));
}

TEST_F(FailClosedServer, GetAndHeadBodiesAreFramedByContentLengthNeverReadAsARequest) {
  const std::string hidden = "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n";
  for (std::string method : {"GET", "HEAD"}) {
    std::string request = method + " /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(hidden.size()) +
                          "\r\n\r\n" + hidden + "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    Exchange x = talk(port_, request);
    EXPECT_TRUE(x.closed);
    // Two answers (the HEAD's has no body, so its Content-Length does not frame it here).
    EXPECT_THAT(x.bytes, ::testing::Not(HasSubstr("\"status\":\"ready\"")))
        << method << ": the body was read as a request\n"
        << x.bytes;
    size_t answers = 0;
    for (size_t at = x.bytes.find("HTTP/1.1 200"); at != std::string::npos; at = x.bytes.find("HTTP/1.1 200", at + 1)) {
      ++answers;
    }
    EXPECT_EQ(answers, 2u) << method << "\n" << x.bytes;
  }
}

TEST_F(FailClosedServer, WellFramedRequestsStillWorkPipelined) {
  std::string request = k_evaluate_head +
                        "Transfer-Encoding: chunked\r\n\r\n8\r\n{\"path\":\r\n8\r\n\"/chat\"}\r\n0\r\n\r\n" +
                        k_evaluate_head + "Content-Length: 16\r\nContent-Length: 16\r\n\r\n{\"path\":\"/chat\"}" +
                        "\r\nGET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  Exchange x = talk(port_, request);
  EXPECT_TRUE(x.closed);
  ASSERT_EQ(x.statuses, (std::vector<int>{200, 200, 200})) << x.bytes;
  EXPECT_THAT(x.bodies[0], HasSubstr("\"path\":\"/chat\""));
  EXPECT_THAT(x.bodies[1], HasSubstr("\"path\":\"/chat\""));
  EXPECT_THAT(x.bodies[2], HasSubstr("\"status\":\"ready\""));
}

// --- one server per port -------------------------------------------------------------

// A listening socket on 127.0.0.1 (port 0: any) with `options` set; its port.
int listen_with(int fd, int port, bool reuse) {
  int yes = 1;
  if (reuse) {
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &yes, sizeof yes);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 8) != 0) return -1;
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

TEST(FailClosedPort, APortAnotherSocketListensOnIsRefusedEvenWithReusePort) {
  TempDir dir;
  write_setup(dir);
  for (bool reuse : {true, false}) {
    int holder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int port = listen_with(holder, 0, reuse);
    ASSERT_GT(port, 0);
    auto srv = ControlServer::create(options_for(dir, port), base::real_file_system(), base::system_clock());
    ASSERT_TRUE(srv) << srv.error().message();
    auto bound = (*srv)->bind();
    EXPECT_FALSE(bound) << "a second listener on port " << port << " (holder with SO_REUSEPORT: " << reuse << ")";
    if (!bound) {
      EXPECT_EQ(bound.error().code(), ErrorCode::io_error);
      EXPECT_THAT(bound.error().message(), HasSubstr("cannot listen on 127.0.0.1:" + std::to_string(port)));
      EXPECT_THAT(bound.error().message(), HasSubstr("address in use"));
    }
    ::close(holder);
  }
}

TEST(FailClosedPort, TwoServersOnOnePortTheSecondIsRefused) {
  TempDir dir;
  write_setup(dir);
  auto first = ControlServer::create(options_for(dir), base::real_file_system(), base::system_clock());
  ASSERT_TRUE(first) << first.error().message();
  auto port = (*first)->bind();
  ASSERT_TRUE(port) << port.error().message();
  auto second = ControlServer::create(options_for(dir, *port), base::real_file_system(), base::system_clock());
  ASSERT_TRUE(second) << second.error().message();
  auto bound = (*second)->bind();
  ASSERT_FALSE(bound) << "two servers share port " << *port;
  EXPECT_THAT(bound.error().message(), HasSubstr("address in use"));
  // The port is free for a new socket once the first server is gone, with
  // no sharing option set (nothing was left behind).
  first->reset();
  int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_EQ(listen_with(probe, *port, false), *port);
  ::close(probe);
}

// --- configuration hygiene -------------------------------------------------------------

TEST(FailClosedConfig, ATokensFileGroupOrOthersMayReadOrWriteIsRefused) {
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602, 0666}) {
    TempDir dir;
    write_setup(dir);
    ASSERT_EQ(::chmod(dir.file("tokens.txt").c_str(), mode), 0);
    auto srv = ControlServer::create(options_for(dir), base::real_file_system(), base::system_clock());
    ASSERT_FALSE(srv) << std::oct << mode;
    EXPECT_EQ(srv.error().code(), ErrorCode::invalid_argument);
    EXPECT_THAT(srv.error().message(), HasSubstr("tokens file " + dir.file("tokens.txt")));
    EXPECT_THAT(srv.error().message(), HasSubstr("readable or writable by group or others"));
    EXPECT_THAT(srv.error().message(), HasSubstr("chmod 600 " + dir.file("tokens.txt")));
    EXPECT_FALSE(testing::path_exists(dir.file("state/audit.jsonl"))) << "nothing is created before the refusal";
  }
  for (mode_t mode : {0600, 0400, 0700}) {
    TempDir dir;
    write_setup(dir);
    ASSERT_EQ(::chmod(dir.file("tokens.txt").c_str(), mode), 0);
    auto srv = ControlServer::create(options_for(dir), base::real_file_system(), base::system_clock());
    EXPECT_TRUE(srv) << std::oct << mode << ": " << srv.error().message();
  }
}

TEST(FailClosedConfig, BaseUrlsWithUserInfoBackslashOrWhiteSpaceAreRefusedNamingTheField) {
  const std::pair<std::string, std::string> cases[] = {
      {"https://legacy.example.com@evil.example", "user info"},
      {"https://user:pass@legacy.example.com", "user info"},
      {"https://legacy.example.com\\\\@evil.example", "'\\'"},
      {"https://evil.example\\\\legacy.example.com", "'\\'"},
      {"https://legacy.example.com/a\\\\b", "'\\'"},
      {"https://legacy.example.com\\u00a0.evil.example", "printable ASCII"},
      {"https://legacy.example.com\\u3000x", "printable ASCII"},
      {"https://legacy.example.com\\tx", "spaces"},
      {"https://legacy example.com", "spaces"},
  };
  for (const auto& [url, fragment] : cases) {
    for (std::string field : {"legacy_base_url", "rust_base_url"}) {
      std::string text = "{\"" + field + "\": \"" + url + "\"}";
      auto c = routing::parse_route_config(text, "routes.json");
      ASSERT_FALSE(c) << text;
      EXPECT_THAT(c.error().message(), HasSubstr("routes.json")) << text;
      EXPECT_THAT(c.error().message(), HasSubstr(field)) << text;
      EXPECT_THAT(c.error().message(), HasSubstr(fragment)) << text;
    }
  }
  // The same through the reference's environment variable.
  routing::RouteConfig config = routing::reference_config();
  auto applied = routing::apply_environment(config, {{"OA_ROUTE_SPLIT_LEGACY_BASE_URL", "https://a@evil.example"}});
  ASSERT_FALSE(applied);
  EXPECT_THAT(applied.error().message(), HasSubstr("OA_ROUTE_SPLIT_LEGACY_BASE_URL"));
  EXPECT_THAT(applied.error().message(), HasSubstr("user info"));
  // Still accepted: an '@' in the path, a port, white space around the value.
  auto ok = routing::parse_route_config(R"({"legacy_base_url": " https://legacy.example.com:8443/a@b/ "})", "r.json");
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->legacy_base_url, "https://legacy.example.com:8443/a@b");
}

}  // namespace
}  // namespace cutover::server
