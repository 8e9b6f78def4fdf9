// The uplink's and spool's metrics, in one place: each path that loses or refuses an uplink record, or fails to
// write spool state, has its counter here.
import type { Metrics } from './metrics.js';
import type { Uplink } from './uplink/index.js';

export function registerUplinkMetrics(metrics: Metrics, uplink: Uplink): void {
  metrics.counter(
    'rsu_spool_dropped_records_total',
    'Uplink records lost, by reason: spool_full (oldest deleted at uplink.spool.maxBytes), disk_full (oldest deleted or new ones refused: no room on the disk), write_error, too_large, invalid, closed, corrupt (unreadable in the spool), broker_refused (refused for good by the MQTT broker), bad_record',
    () => uplink.droppedByReason(),
    'reason',
  );
  metrics.counter('rsu_spool_cursor_write_errors_total', 'Spool ack cursors that could not be written (they are retried; a stale cursor means redelivery)', () => uplink.stats().spool.cursorErrors);
  metrics.counter('rsu_spool_fsync_errors_total', 'Failed fdatasync calls on spool segments', () => uplink.stats().spool.fsyncErrors);
  metrics.gauge('rsu_spool_disk_full', 'The spool refuses new uplink records because its disk is full (1) or not (0)', () => (uplink.stats().spool.diskFullSince ? 1 : 0));
}
