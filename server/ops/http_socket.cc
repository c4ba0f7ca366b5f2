#include "server/ops/http_socket.h"

#include <sys/socket.h>

namespace headevo::server {

void SetExclusivePortOptions(int socket) {
  const int yes = 1;
  setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
}

}  // namespace headevo::server
