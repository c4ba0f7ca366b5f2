// The coordinator's Prometheus page as tests read it: fetched over real HTTP from 127.0.0.1,
// and its samples parsed into "name{labels}" -> value.
#ifndef HEADEVO_TESTS_TESTUTIL_METRICS_PAGE_H_
#define HEADEVO_TESTS_TESTUTIL_METRICS_PAGE_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <string>

namespace headevo::testing {

// `METHOD path` on 127.0.0.1:port; the whole response, headers included ("connect failed"
// when nothing listens).
inline std::string HttpGet(int port, const std::string& path, const std::string& method = "GET") {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return "connect failed";
  }
  const std::string request = method + " " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
  send(fd, request.data(), request.size(), 0);
  std::string response;
  char buffer[4096];
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) response.append(buffer, n);
  close(fd);
  return response;
}

// The samples of a text-format page (headers skipped, comments ignored).
inline std::map<std::string, double> MetricSamples(const std::string& page) {
  std::map<std::string, double> samples;
  size_t start = page.find("\r\n\r\n");
  start = start == std::string::npos ? 0 : start + 4;
  while (start < page.size()) {
    size_t end = page.find('\n', start);
    if (end == std::string::npos) end = page.size();
    const std::string line = page.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

}  // namespace headevo::testing

#endif  // HEADEVO_TESTS_TESTUTIL_METRICS_PAGE_H_
