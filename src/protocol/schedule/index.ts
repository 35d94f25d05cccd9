// Time, as hub and agent must agree on it: cron schedules in IANA zones, maintenance windows, the cron ledger.
export * from './calendar.js';
export * from './cron-expression.js';
export * from './zoned-time.js';
export * from './next-slots.js';
export * from './maintenance-window.js';
export * from './cron-ledger.js';
