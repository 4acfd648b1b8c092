# Writes the PyYAML / json references next to scalars.yaml (run with PyYAML 6, Python 3.11):
#   scalars.dump.yaml          yaml.dump(data, indent=4)              (the Model Zoo's save)
#   scalars.safe_dump.yaml     yaml.safe_dump(data, sort_keys=False)  (the LoRA fold tool)
#   scalars.dump.json          json.dumps(data, indent=4)             (NaN etc. as Python writes them)
#   params_gpt2_tiny.dump.yaml yaml.dump of ../cs-ref/gpt2/input_cs22_train/params_gpt2_tiny.yaml
import json, yaml, datetime
data = yaml.safe_load(open("scalars.yaml", encoding="utf-8"))
open("scalars.dump.yaml", "w").write(yaml.dump(data, indent=4))
open("scalars.safe_dump.yaml", "w").write(yaml.safe_dump(data, sort_keys=False))
# json cannot hold the mixed key map's sort or NaN-free guarantees; it writes what Python writes.
open("scalars.dump.json", "w").write(json.dumps(data, indent=4))
p = yaml.safe_load(open("../cs-ref/gpt2/input_cs22_train/params_gpt2_tiny.yaml"))
open("params_gpt2_tiny.dump.yaml", "w").write(yaml.dump(p, indent=4))
