/** Where published messages go: Pub/Sub on Google Cloud, the local push bus in the embedded default. */
export interface Transport {
  /** Publishes one message; resolves with its message id once the broker has it. */
  publish(topic: string, data: unknown, attributes: Record<string, string>): Promise<string>;
}
