# Sourced by gdb (tests/integration/45-gdb-signals.sh, schedule-multiple-tree): with
# schedule-multiple on, `continue` in a live inferior resumes them all and one stop (an
# exit) is told per resume; continues until no inferior is left. An inferior that ended
# without its exit told has no PC (gdbserver and hermitux-run alike): gdb refuses to
# continue it ("PC register is not available") and it stays listed, which is printed.
import gdb

for _ in range(20):
    live = [inferior for inferior in gdb.inferiors() if inferior.pid]
    resumed = False
    for inferior in live:
        try:
            gdb.execute("inferior %d" % inferior.num, to_string=True)
            gdb.execute("continue")
            resumed = True
            break
        except gdb.error as error:
            print("cannot continue inferior %d: %s" % (inferior.num, error))
    if not resumed:
        break
print("left: %s" % " ".join(str(i.num) for i in gdb.inferiors() if i.pid))
