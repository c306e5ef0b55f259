/**
 * The local stack exactly as `npm start` runs it (scripts/local-stack.ts), as a child of
 * `npm run bench:submit` or `npm run drill`. The bench starts it with an IPC channel; when the bench goes away without
 * stopping it, even killed, the channel closes and the stack runs its own SIGTERM shutdown (the
 * embedded PostgreSQL included) instead of running on as an orphan.
 */
import '../local-stack';

process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
