#!/bin/sh
# The Windows agent's facts under Wine (issue 11): `qh-agent.exe info
# --json` keeps the Linux agent's members and adds Windows' own: the
# Windows version (the test prefix is Windows 10), whether the user is an
# administrator, and what the registry holds. Wine has no .NET NDP keys
# and no programs: the test adds some with regedit, in the 64-bit view,
# the 32-bit view (WOW6432Node) and HKCU, and they come back, CRM
# products first; Office's bitness and a TAPI provider too. The text form
# shows them as lines; from cmd.exe it is the same program.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/winlib.sh"

win_setup
NDP='HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\NET Framework Setup\NDP'
UN='SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall'
cat >"$T/facts.reg" <<REG
REGEDIT4

[$NDP\\v4\\Full]
"Release"=dword:00080ea8
"Version"="4.8.04084"
"Install"=dword:00000001

[$NDP\\v3.5]
"Version"="3.5.30729.4926"
"SP"=dword:00000001

[HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\QHTestAct]
"DisplayName"="Act! Premium"
"DisplayVersion"="24.0.1"
"Publisher"="Act! LLC"

[HKEY_LOCAL_MACHINE\\$UN\\QHTest7zip]
"DisplayName"="7-Zip 23.01 (x64)"
"DisplayVersion"="23.01"

[HKEY_LOCAL_MACHINE\\$UN\\QHTestHidden]
"DisplayName"="Hidden runtime"
"SystemComponent"=dword:00000001

[HKEY_CURRENT_USER\\$UN\\QHTestZoom]
"DisplayName"="Zoom"
"DisplayVersion"="5.16"

[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Office\\ClickToRun\\Configuration]
"Platform"="x86"
"VersionToReport"="16.0.17029.20108"

[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Telephony\\Providers]
"NumProviders"=dword:00000001
"ProviderFileName0"="unimdm.tsp"
REG
"$WINE" regedit /S "$(winpath "$T/facts.reg")" </dev/null >"$T/regedit.log" 2>&1 ||
    fail "regedit: $(cat "$T/regedit.log")"

wine_agent info --json </dev/null >"$T/info.json" 2>"$T/info.err" ||
    fail "info --json: $(cat "$T/info.err")"
python3 - "$T/info.json" <<'PY' || fail "info --json: $(cat "$T/info.json")"
import json, sys
f = json.load(open(sys.argv[1]))
def need(cond, what):
    if not cond:
        sys.exit("not as expected: %s" % what)
# The Linux agent's members, meaning the same.
for k in ("os", "kernel", "arch", "hostname", "user", "cpu_model", "cpu_cores",
          "memory_total_bytes", "memory_available_bytes", "disks", "uptime_seconds",
          "locale", "timezone", "interfaces"):
    need(k in f, "member " + k)
need("Windows 10" in f["os"], "os " + f["os"])
need(f["kernel"].startswith("Windows NT 10.0."), "kernel " + f["kernel"])
need(f["arch"] == "x86_64", "arch")
need(f["memory_total_bytes"] > 0 and f["cpu_cores"] >= 1, "memory and cores")
need(any(d["mount"] == "C:\\" for d in f["disks"]), "disk C:")
need(any("127.0.0.1/8" in i["addresses"] for i in f["interfaces"]), "loopback")
need(isinstance(f["admin"], bool), "admin")
need(f["os_build"].startswith("18362"), "build " + f["os_build"])
# The registry's facts, as added above.
net = {d["key"]: d for d in f["dotnet"]}
need("v4\\Full" in net and net["v4\\Full"]["release"] == 528040, ".NET v4 Full")
need(net["v4\\Full"]["product"] == "4.8" and net["v4\\Full"]["version"] == "4.8.04084",
     ".NET 4.8")
need(net["v3.5"]["version"] == "3.5.30729.4926" and net["v3.5"]["sp"] == 1, ".NET 3.5")
names = [p["name"] for p in f["programs"]]
need("Hidden runtime" not in names, "system components left out")
act = names.index("Act! Premium")
need(act == 0 and f["programs"][0]["crm"] and f["programs"][0]["view"] == "32-bit",
     "Act! first, from the 32-bit view: %r" % f["programs"][:2])
need(names.index("7-Zip 23.01 (x64)") > act, "7-Zip after the CRM products")
need(any(p["name"] == "Zoom" and p["view"] == "user" for p in f["programs"]), "HKCU")
need(f["office"] == {"version": "16.0.17029.20108", "bitness": "32-bit",
                     "source": "Click-to-Run"}, "office %r" % f["office"])
need("unimdm.tsp" in f["tapi_providers"], "TAPI")
need("twain" in f["scanners"] and "wia" in f["scanners"], "scanners")
need("default_printer" in f, "printer")
PY

# From cmd.exe, as a customer's script would; --console is taken out.
"$WINE" cmd /c "$(winpath "$EXE")" --console info --json </dev/null >"$T/cmd.json" \
    2>"$T/cmd.err" || fail "info from cmd.exe: $(cat "$T/cmd.err")"
python3 -c 'import json, sys; assert "Windows" in json.load(open(sys.argv[1]))["os"]' \
    "$T/cmd.json" || fail "info --json from cmd.exe: $(cat "$T/cmd.json")"

wine_agent info </dev/null >"$T/info.txt" 2>"$T/info.err" || fail "info: $(cat "$T/info.err")"
unix_text "$T/info.txt"
expect_in "$T/info.txt" "OS: *Microsoft Windows 10"
expect_in "$T/info.txt" "Build: *18362"
expect_in "$T/info.txt" "^\.NET: .*4\.8 (v4\\\\Full)"
expect_in "$T/info.txt" "^\.NET: .*3\.5\.30729\.4926 (v3\.5)"
expect_in "$T/info.txt" "Admin rights: *\(yes\|no\)"
expect_in "$T/info.txt" "CRM, Office: *Act! Premium 24.0.1 (32-bit)"
expect_in "$T/info.txt" "Office: *16.0.17029.20108, 32-bit (Click-to-Run)"
expect_in "$T/info.txt" "TAPI: *unimdm.tsp"

cat >"$T/clean.reg" <<REG
REGEDIT4

[-HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\QHTestAct]
[-HKEY_LOCAL_MACHINE\\$UN\\QHTest7zip]
[-HKEY_LOCAL_MACHINE\\$UN\\QHTestHidden]
[-HKEY_CURRENT_USER\\$UN\\QHTestZoom]
[-HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Office\\ClickToRun]
REG
"$WINE" regedit /S "$(winpath "$T/clean.reg")" </dev/null >/dev/null 2>&1
exit 0
