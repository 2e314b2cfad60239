/** One day of one analytics label, as the FCM Data API reports it (its v1beta1 AndroidDeliveryData). */
export interface DeliveryDataEntry {
  /** YYYY-MM-DD: a day that ends in America/Los_Angeles, as FCM counts them. */
  date: string;
  /** Absent: the messages sent with no label, grouped. */
  analyticsLabel?: string;
  countMessagesAccepted: number;
  countNotificationsAccepted?: number;
  /** delivered, pending, collapsed, droppedTooManyPendingMessages, droppedAppForceStopped, droppedDeviceInactive, droppedTtlExpired: shares of the accepted, in percent. */
  messageOutcomePercents: Record<string, number>;
  /** How the delivered went (deliveredNoDelay, delayedDeviceOffline, delayedDeviceDoze, delayedMessageThrottled, delayedUserStopped), in shares of the accepted. */
  deliveryPerformancePercents?: Record<string, number>;
  messageInsightPercents?: Record<string, number>;
  proxyNotificationInsightPercents?: Record<string, number>;
}
