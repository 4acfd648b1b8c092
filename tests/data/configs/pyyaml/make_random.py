# Writes random/NN.in.yaml (random data in a random PyYAML layout) and what PyYAML 6 / Python 3.11
# make of it: NN.dump.yaml (yaml.dump(indent=4)), NN.safe_dump.yaml (safe_dump(sort_keys=False)),
# NN.dump.json (json.dumps(indent=4), when JSON can hold the data). Deterministic (seeded).
import json, random, yaml
random.seed(20261129)
alpha = list("abcxyz019 ") * 4 + list(" \n\t:#-?'\",.[]{}&*!|>%@`~=<+_/\\") + \
    ["\u00e9", "\u4e2d", "\u2028", "\x85", "\xa0", "\U0001F600", "\ufeff", "\r", "\x00", "\x7f", "  ", "\n\n", " \n", "\n "]
specials = ["", "yes", "No", "on", "null", "~", "1e-5", "1.0", "0x1F", "017", "1:30", ".inf", "<<", "=",
            "2024-01-01", "---", "...", "- a", "a: b", "#c", "true", "123", "-", "?", "'", '"']
def rstr():
    if random.random() < 0.15:
        return random.choice(specials)
    s = "".join(random.choice(alpha) for _ in range(random.choice([1, 2, 3, 5, 8, 20, 40, 79, 80, 81, 90, 130])))
    return s.replace("\n", " ") if random.random() < 0.3 else s
def rscalar():
    r = random.random()
    if r < 0.5: return rstr()
    if r < 0.65: return random.randint(-10**18, 10**18) if random.random() < 0.5 else random.randint(-100, 100)
    if r < 0.85:
        if random.random() < 0.1: return random.choice([float("inf"), -float("inf"), 0.0, -0.0, 1e16, 1e-5, 1e22])
        return random.uniform(-1e6, 1e6) * 10 ** random.randint(-30, 30)
    if r < 0.95: return random.choice([True, False])
    return None
def rkey():
    if random.random() < 0.85: return rstr()
    return rscalar() if random.random() < 0.5 else random.randint(-5, 5)
def rval(d=0):
    r = random.random()
    if d > 3 or r < 0.55: return rscalar()
    if r < 0.75: return [rval(d + 1) for _ in range(random.randint(0, 4))]
    return {rkey(): rval(d + 1) for _ in range(random.randint(0, 4))}
n = 0
while n < 16:
    data = {(rstr() if random.random() < 0.9 else random.randint(0, 9)): rval() for _ in range(random.randint(1, 4))}
    src = yaml.dump(data, indent=random.randint(2, 8), width=random.choice([20, 80, 200, 10**6]),
                    default_flow_style=random.choice([False, True, None]), allow_unicode=random.random() < 0.5,
                    sort_keys=random.random() < 0.5, default_style=random.choice([None, None, None, "'", '"']))
    loaded = yaml.safe_load(src)
    if not isinstance(loaded, dict):
        continue
    base = "random/%02d" % n
    open(base + ".in.yaml", "w", encoding="utf-8").write(src)
    open(base + ".dump.yaml", "w", encoding="utf-8").write(yaml.dump(loaded, indent=4))
    open(base + ".safe_dump.yaml", "w", encoding="utf-8").write(yaml.safe_dump(loaded, sort_keys=False))
    try:
        text = json.dumps(loaded, indent=4)
        if json.loads(text) is not None and len(json.loads(text)) == len(loaded):
            open(base + ".dump.json", "w", encoding="utf-8").write(text)
    except (TypeError, ValueError):
        pass
    n += 1
