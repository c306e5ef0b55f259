/** Circuit breakers around the dependencies jobs and publishes wait on, and what counts as their trouble. */
export {
  BreakerOpenError,
  breakerSettings,
  circuitBreaker,
  type Breaker,
  type BreakerOptions,
  type BreakerSettings,
  type BreakerState,
} from './breaker';
export { grpcStatusName, isTransientError } from './transient';
