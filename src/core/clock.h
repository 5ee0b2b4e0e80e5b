/* The one clock: seconds as a double, monotonic for durations and Unix time for stamps that
 * other processes compare (heartbeats, run records). */
#ifndef SG_CLOCK_H
#define SG_CLOCK_H

/* Monotonic seconds (CLOCK_MONOTONIC): differences are durations, unaffected by clock changes. */
double sg_now(void);
/* Unix time in seconds (CLOCK_REALTIME): comparable across processes and hosts. */
double sg_wall_now(void);

#endif
