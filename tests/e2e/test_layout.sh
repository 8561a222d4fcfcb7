# The layout (issue 9, docs/architecture.md): every part uses only what
# docs/dependencies.txt allows, the console's parts have no include cycle,
# no archive but the store's calls SQLite, and no file or function outgrows
# its limit. Then the checker is shown to bite: a copy of the tree with one
# forbidden include must fail, naming the file and the rule.
. "$(dirname "$0")/lib.sh"
ROOT=${QH_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=$(cd "$QH_BIN/.." && pwd)

python3 "$ROOT/tests/tools/depcheck.py" "$ROOT" "$BUILD" >"$T/dep.log" 2>&1 ||
    fail "depcheck: $(cat "$T/dep.log")"
cat "$T/dep.log"
python3 "$ROOT/tests/tools/sizecheck.py" "$ROOT" >"$T/size.log" 2>&1 ||
    fail "sizecheck: $(cat "$T/size.log")"
cat "$T/size.log"

# A forbidden include in a copy: the technician's side may never use SQLite.
mkdir -p "$T/tree"
(cd "$ROOT" && cp -r common include console agent docs "$T/tree/")
sed -i '0,/^#include "qh\//s//#include <sqlite3.h>\n#include "qh\//' "$T/tree/console/tech/exec.c"
if python3 "$ROOT/tests/tools/depcheck.py" "$T/tree" >"$T/bad.log" 2>&1; then
	fail "depcheck accepted a technician file that includes sqlite3.h"
fi
expect_in "$T/bad.log" "console/tech/exec.c: #include <sqlite3.h>: tech may not use sqlite"

# A daemon module that includes another part's private header.
(cd "$ROOT" && cp console/tech/exec.c "$T/tree/console/tech/exec.c")
sed -i '0,/^#include "qh\//s//#include "tech\/client.h"\n#include "qh\//' "$T/tree/console/daemon/queue.c"
python3 "$ROOT/tests/tools/depcheck.py" "$T/tree" >"$T/bad2.log" 2>&1 &&
    fail "depcheck accepted the daemon including the technician part's header"
expect_in "$T/bad2.log" "console/daemon/queue.c: #include \"tech/client.h\": daemon may not use tech"

# An include cycle inside the daemon.
(cd "$ROOT" && cp console/daemon/queue.c "$T/tree/console/daemon/queue.c")
sed -i '0,/^#include "qh\//s//#include "queue.h"\n#include "qh\//' "$T/tree/console/daemon/session.c"
python3 "$ROOT/tests/tools/depcheck.py" "$T/tree" >"$T/bad3.log" 2>&1 &&
    fail "depcheck accepted an include cycle in the daemon"
expect_in "$T/bad3.log" "daemon: include cycle"
echo "depcheck refuses a forbidden library, another part's private header and a cycle"
