"""Runs a command in a pseudo-terminal of COLUMNS x 24, as a person's terminal would.

Usage: python3 run-in-terminal.py COLUMNS COMMAND [ARGS...]
What the command writes to the terminal is copied to stdout. A line "CTRL-C" on stdin is typed
into the terminal as the keystroke (0x03), which the terminal turns into SIGINT only if the
command left it in its normal (cooked) mode; any other line is typed as it is, then Enter. Keys
are typed only once the command has been started in the terminal (its exec). At the end: a line
"[exit CODE]", CODE negative for the signal that killed the command.
"""
import fcntl, os, pty, select, signal, struct, sys, termios

columns = int(sys.argv[1])
# Closed in the child by its exec (Python's pipes are close-on-exec): until then, the terminal may
# not be the child's yet, and a Ctrl-C typed into it would reach no process.
started_read, started_write = os.pipe()
pid, terminal = pty.fork()
if pid == 0:
    os.close(started_read)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 24, columns, 0, 0))
    os.execvp(sys.argv[2], sys.argv[2:])
os.close(started_write)
while os.read(started_read, 1):
    pass
os.close(started_read)

out = sys.stdout.buffer
commands = sys.stdin.fileno()
typed = b''
while True:
    watched = [terminal] + ([commands] if commands is not None else [])
    ready, _, _ = select.select(watched, [], [], 0.05)
    if terminal in ready:
        try:
            data = os.read(terminal, 65536)
        except OSError:
            data = b''
        if not data:
            break
        out.write(data)
        out.flush()
    if commands is not None and commands in ready:
        chunk = os.read(commands, 1024)
        if not chunk:
            commands = None
        typed += chunk
        while b'\n' in typed:
            line, typed = typed.split(b'\n', 1)
            os.write(terminal, b'\x03' if line == b'CTRL-C' else line + b'\r')
_, status = os.waitpid(pid, 0)
out.write(f'\n[exit {os.waitstatus_to_exitcode(status)}]\n'.encode())
out.flush()
