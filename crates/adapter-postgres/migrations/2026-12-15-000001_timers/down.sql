DROP TABLE timer_schedules;
DROP TABLE build_timers;
