"""Redis commands (RESP) for bench/micro/settle_batch.sh: `setup N B` writes a match in state 4 with
result "a" (state 3, settling), N open bets of 10 coins at odds 1.9 over N / 10 funded users (as
`matchday bench settle` has them), as place_bet.lua leaves them (the terms in the open hash);
`settle N B SHA` writes the settle_batch.lua calls (EVALSHA SHA) that settle them B at a time."""
import sys

def command(out, *args):
    args = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    out.write(b"*%d\r\n" % len(args))
    for a in args:
        out.write(b"$%d\r\n%s\r\n" % (len(a), a))


def main():
    mode, n, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    out = sys.stdout.buffer
    users = max(n // 10, 1)
    if mode == "setup":
        command(out, "HSET", "mb:match:1", "state", 3, "result", "a", "ver", 1, "start_at", 0, "id", 1)
        for u in range(users):
            command(out, "HSET", "mb:wallet:%d" % u, "balance", 1000000, "ver", 1, "exposure", 19 * n)
        for i in range(1, n + 1):
            option = "a" if i % 2 else "b"
            command(out, "HSET", "mb:match:1:open", i, "%d:1900:10:1700000000000:1:%sr%d" % (i % users, option, i))
        return
    sha = sys.argv[4]
    fixed = ["mb:match:1", "mb:match:1:open", "mb:q:{outbox}", "mb:q:{notify}"]
    fixed += ["mb:lb:%s:%s" % (board, period) for board in ("net", "picks") for period in ("2023-11-14", "2023-W46", "all")]
    for first in range(1, n + 1, batch):
        bids = range(first, min(first + batch, n + 1))
        keys = list(fixed)
        for b in bids:
            keys += ["mb:user:%d:bets" % (b % users), "mb:wallet:%d" % (b % users), "mb:ledger:%d" % (b % users)]
        command(out, "EVALSHA", sha, len(keys), *keys, "settle", 1700000001000, "3", 1, len(bids), 3024000, 9072000, *bids)


if __name__ == "__main__":
    main()
