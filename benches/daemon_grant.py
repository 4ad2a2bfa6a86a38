# What a dated grant to every member costs the daemon in memory (docs/benchmarks.md):
#   python3 benches/daemon_grant.py target/release/camp 300000
# Starts `camp serve benches/members.camp` (manual clock, sends to /dev/null), puts N
# members one by one, moves the clock past the start (every member enrolls at once)
# and then past the Mid-Autumn grant (one coupon each), and prints the peak resident
# memory (VmHWM) after each, the grant instant's time and the grants counted. Loopback
# only; stops the daemon at the end.
import http.client, json, os, subprocess, sys, time
BIN, N = sys.argv[1], int(sys.argv[2])
d = "/tmp/camp-daemon-grant"; subprocess.run(["rm", "-rf", d]); os.makedirs(d)
camp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "members.camp")
p = subprocess.Popen([BIN, "serve", camp, "--db", d + "/camp.db", "--listen", "127.0.0.1:0",
                      "--clock", "manual", "--sink", "file:/dev/null"],
                     stdout=subprocess.PIPE, stderr=open(d + "/log", "w"), text=True)
host, port = p.stdout.readline().strip().split("http://")[1].split(":")
c = http.client.HTTPConnection(host, int(port))
def call(m, path, body=None):
    c.request(m, path, body=body, headers={"content-type": "application/json"})
    r = c.getresponse(); data = r.read(); assert r.status == 200, (r.status, data); return data
def peak():
    for l in open(f"/proc/{p.pid}/status"):
        if l.startswith("VmHWM"): return int(l.split()[1])
call("POST", "/v1/clock", json.dumps({"now": "2026-12-31T00:00:00Z"}))
for i in range(N):
    call("PUT", f"/v1/users/u{i}", json.dumps({"nickname": "N", "level": 2}))
call("POST", "/v1/clock", json.dumps({"now": "2027-01-01T00:00:01Z"}))
enrolled = peak()
t = time.time()
call("POST", "/v1/clock", json.dumps({"now": "2027-09-15T02:00:01Z"}))
took = time.time() - t
granted = peak()
grants = [l for l in call("GET", "/metrics").decode().splitlines() if l.startswith("camp_grants_total")]
print(f"{N} members: peak {enrolled} KB after they enroll, {granted} KB after the grant "
      f"(+{granted - enrolled} KB); the grant instant {took:.2f} s; {grants}")
p.terminate(); p.wait()
