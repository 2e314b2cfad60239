"""Runs a command in a pseudo-terminal of COLUMNS x 24, as a person's terminal would.

Usage: python3 run-in-terminal.py COLUMNS COMMAND [ARGS...]
What the command writes to the terminal is copied to stdout. A line "CTRL-C" on stdin is typed
into the terminal as the keystroke (0x03), which the terminal turns into SIGINT only if the
command left it in its normal (cooked) mode. At the end: a line "[exit CODE]".
"""
import fcntl, os, pty, select, struct, sys, termios

columns = int(sys.argv[1])
pid, terminal = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 24, columns, 0, 0))
    os.execvp(sys.argv[2], sys.argv[2:])

out = sys.stdout.buffer
commands = sys.stdin.fileno()
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
        line = os.read(commands, 1024)
        if not line:
            commands = None
        elif b'CTRL-C' in line:
            os.write(terminal, b'\x03')
_, status = os.waitpid(pid, 0)
out.write(f'\n[exit {os.waitstatus_to_exitcode(status)}]\n'.encode())
out.flush()
