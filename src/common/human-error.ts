/**
 * A human-readable reason for the customer: never a stack trace, never a server path or a raw system error code.
 * Storage failures get a fixed sentence; other errors (a CSV problem, a classifier's own message) keep their
 * first line, with anything that looks like an absolute path removed. `prefix` names what failed.
 */
export function humanError(e: unknown, prefix = 'Processing failed'): string {
  const err = (e ?? {}) as NodeJS.ErrnoException;
  const msg = e instanceof Error ? e.message : String(e);
  if (err.code === 'ENOENT' || /\bENOENT\b/.test(msg)) return `${prefix}: the uploaded file is no longer available in storage. Please upload the list again.`;
  if ((typeof err.code === 'string' && err.syscall) || /\b(EACCES|EPERM|ENOSPC|EIO|EMFILE|EROFS)\b/.test(msg)) {
    return `${prefix}: the file storage could not be read or written. Please try again later.`;
  }
  const firstLine = msg.split(/\r?\n/)[0].replace(/\s+at\s.*$/s, '');
  const clean = firstLine
    .replace(/(?:[A-Za-z]:)?(?:[\\/][\w.@-]+){2,}[\\/]?/g, '<path>')
    .replace(/^(?:[A-Z][A-Za-z]*Error|Error):\s*/, '')
    .trim();
  return `${prefix}: ${(clean || 'an unexpected error occurred').slice(0, 400)}`;
}
