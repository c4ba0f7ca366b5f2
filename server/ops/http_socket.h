// The listening socket of headevo's HTTP servers (the /metrics listener here, the dashboard in
// server/http/), both on cpp-httplib: SO_REUSEADDR, so a restarted server binds its port again
// at once, but not cpp-httplib's default SO_REUSEPORT, which lets a second server bind a port
// already in use and split the connections with the first instead of failing to start.
#ifndef HEADEVO_SERVER_OPS_HTTP_SOCKET_H_
#define HEADEVO_SERVER_OPS_HTTP_SOCKET_H_

namespace headevo::server {

// For httplib::Server::set_socket_options.
void SetExclusivePortOptions(int socket);

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_OPS_HTTP_SOCKET_H_
