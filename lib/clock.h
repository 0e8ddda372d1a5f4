/*
 * clock.h - the library's one clock for durations: seconds on
 * CLOCK_MONOTONIC (an arbitrary origin, never set back), as a double.
 */
#ifndef Q_CLOCK_H
#define Q_CLOCK_H

double q_clock(void);

#endif
