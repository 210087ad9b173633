"""Redis commands (RESP) for bench/micro/settle_batch.sh: `setup N B` writes a match in state 4 with
result "a", N open bets of 10 coins at odds 1.9 over 200 funded users, as place_bet.lua leaves them;
`settle N B SHA` writes the settle_batch.lua calls (EVALSHA SHA) that settle them B at a time."""
import sys

USERS = 200


def command(out, *args):
    args = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    out.write(b"*%d\r\n" % len(args))
    for a in args:
        out.write(b"$%d\r\n%s\r\n" % (len(a), a))


def main():
    mode, n, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    out = sys.stdout.buffer
    if mode == "setup":
        command(out, "HSET", "mb:match:1", "state", 4, "result", "a", "ver", 1, "start_at", 0, "id", 1)
        for u in range(USERS):
            command(out, "HSET", "mb:wallet:%d" % u, "balance", 1000000, "ver", 1, "exposure", 19 * n)
        for i in range(1, n + 1):
            command(out, "HSET", "mb:bet:%d" % i, "id", i, "uid", i % USERS, "match_id", 1,
                    "option", "a" if i % 2 else "b", "stake", 10, "odds", 1900, "state", "open",
                    "ts", 1700000000000, "req_id", "r%d" % i, "ver", 1)
            command(out, "HSET", "mb:match:1:open", i, i % USERS)
        return
    sha = sys.argv[4]
    fixed = ["mb:match:1", "mb:match:1:open", "mb:q:{outbox}", "mb:q:{notify}"] + ["mb:z%d" % j for j in range(5, 11)]
    for first in range(1, n + 1, batch):
        bids = range(first, min(first + batch, n + 1))
        keys = list(fixed)
        for b in bids:
            keys += ["mb:bet:%d" % b, "mb:wallet:%d" % (b % USERS), "mb:ledger:%d" % (b % USERS)]
        command(out, "EVALSHA", sha, len(keys), *keys, "result", 1700000001000, "4:finished", "4", len(bids), *bids)


if __name__ == "__main__":
    main()
