// The two clocks the coordinator's side reads, as functions to pass in (tests pass fakes):
// wall time for what is stored (lease expiries, event times), monotonic time for how long to
// wait or how long ago something was heard from.
#ifndef HEADEVO_SERVER_ENGINE_CLOCK_H_
#define HEADEVO_SERVER_ENGINE_CLOCK_H_

#include <cstdint>

namespace headevo::server {

// Milliseconds since the Unix epoch from the system clock.
int64_t SystemClockMs();
// Milliseconds since an arbitrary start on std::chrono::steady_clock.
int64_t SteadyClockMs();

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_ENGINE_CLOCK_H_
