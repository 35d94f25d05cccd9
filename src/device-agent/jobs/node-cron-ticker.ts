import cron from 'node-cron';
import type { Ticker } from './cron-scheduler.js';

/**
 * The project's ticker: node-cron firing every second. It only wakes the scheduler; which slot runs is the
 * ledger's decision (see cron-scheduler.ts for why node-cron must not decide). One task for all CronJobs
 * keeps the agent's footprint flat however many CronJobs a device has.
 */
export const nodeCronTicker: Ticker = (onTick) => {
  const task = cron.schedule('* * * * * *', () => onTick(), { name: 'edgepilot-cron-ticker', noOverlap: false });
  return () => void task.destroy();
};
