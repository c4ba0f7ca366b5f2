// Log-gamma, digamma and trigamma for the samplers and fitters. Written here rather than taken
// from <cmath> because std::lgamma writes the global `signgam` (a data race when searches run
// on several threads) and the standard library has no digamma or trigamma at all.
#ifndef HEADEVO_SEARCH_SPECIAL_FUNCTIONS_H_
#define HEADEVO_SEARCH_SPECIAL_FUNCTIONS_H_

namespace headevo::search {

// log Gamma(x) for x > 0, to about 1e-13 (absolute near its zeros at 1 and 2, relative
// elsewhere). NaN for x <= 0.
double LogGamma(double x);

// psi(x) = d/dx log Gamma(x) for x > 0. NaN for x <= 0.
double Digamma(double x);

// log(x) - psi(x) for x > 0, without the cancellation of the difference for large x (it tends
// to 1/(2x)): the gamma shape equation. NaN for x <= 0.
double LogMinusDigamma(double x);

// psi'(x) for x > 0. NaN for x <= 0.
double Trigamma(double x);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_SPECIAL_FUNCTIONS_H_
