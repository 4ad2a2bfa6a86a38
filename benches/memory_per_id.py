# What an accepted event id costs the daemon in memory (docs/benchmarks.md):
#   python3 benches/memory_per_id.py target/release/camp benches/replay.camp
# Starts `camp serve` (manual clock, EVERY = --snapshot-every, default: no snapshots),
# puts 10,000 users, posts 5,000,000 check-ins with unique ids 1,000 a request, and
# prints the process's resident memory after each million, then the bytes per id from
# the first million to the fifth. Loopback only; stops the daemon at the end.
import http.client, json, subprocess, sys, time, os, random
BIN, CAMP = sys.argv[1], sys.argv[2]
d = "/tmp/camp-memory-per-id"; subprocess.run(["rm", "-rf", d]); os.makedirs(d)
p = subprocess.Popen([BIN, "serve", CAMP, "--db", d + "/camp.db", "--listen", "127.0.0.1:0",
                      "--clock", "manual", "--snapshot-every", os.environ.get("EVERY", "100000000")],
                     stdout=subprocess.PIPE, stderr=open(d + "/log", "w"))
addr = p.stdout.readline().decode().strip().split("http://")[1]
host, port = addr.split(":")
c = http.client.HTTPConnection(host, int(port))
def call(m, path, body):
    c.request(m, path, body); r = c.getresponse(); r.read(); assert r.status == 200, r.status
def rss():
    for l in open(f"/proc/{p.pid}/status"):
        if l.startswith("VmRSS"): return int(l.split()[1]) * 1024
USERS = 10_000
for u in range(USERS):
    call("PUT", f"/v1/users/u{u}", json.dumps({"nickname": f"n{u}", "level": 1}))
call("POST", "/v1/clock", json.dumps({"now": "2027-03-01T02:00:00Z"}))
n = 0; marks = {}
for target in [1_000_000, 2_000_000, 3_000_000, 4_000_000, 5_000_000]:
    while n < target:
        # every id is new, and every check-in is accepted (counted or not, its id is kept)
        batch = [f'{{"id":"e{n+i}","type":"checkin","user":"u{(n+i) % USERS}"}}' for i in range(1000)]
        call("POST", "/v1/events", "[" + ",".join(batch) + "]")
        n += 1000
    time.sleep(1)
    marks[target] = rss()
    print(target, marks[target] / 1e6, "MB", flush=True)
base = marks[1_000_000]
print("bytes per id (1M→5M):", (marks[5_000_000] - base) / 4_000_000)
p.terminate(); p.wait()
