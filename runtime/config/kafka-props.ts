// Checking `uplink.kafka.librdkafka` with librdkafka itself: node-rdkafka's Producer constructor parses the
// properties (names, aliases, value types and ranges) and throws librdkafka's own error, without connecting.
import { createRequire } from 'node:module';

type Props = Record<string, string | number | boolean>;
interface ProducerCtor {
  new (conf: Props, topicConf: Props): unknown;
}

let producerCtor: ProducerCtor | null | undefined;

function loadProducer(): ProducerCtor | null {
  if (producerCtor !== undefined) return producerCtor;
  try {
    producerCtor = (createRequire(import.meta.url)('node-rdkafka') as { Producer: ProducerCtor }).Producer;
  } catch {
    producerCtor = null;
  }
  return producerCtor;
}

/** librdkafka's objection to these properties (with the property it names, when one of `props`), or undefined. */
export function kafkaPropertyProblem(props: Props): { key?: string; message: string } | undefined {
  if (Object.keys(props).length === 0) return undefined;
  const Producer = loadProducer();
  if (!Producer) return undefined; // the uplink itself reports that node-rdkafka is missing
  try {
    new Producer({ 'bootstrap.servers': '127.0.0.1:9092', ...props }, {});
    return undefined;
  } catch (e) {
    const message = (e as Error).message;
    const named = /property:? "([^"]+)"/.exec(message)?.[1];
    return { key: named !== undefined && Object.hasOwn(props, named) ? named : undefined, message: `librdkafka: ${message}` };
  }
}
