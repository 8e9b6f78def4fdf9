#!/usr/bin/env python3
"""A second independent C-OER codec for the tests: pycrate (P1sec, pure Python, used from a local checkout, never
vendored) driven over stdin/stdout.

  ref.py compile PYCRATE_DIR ASN_DIR OUT.py   compile a module directory with pycrate_asn1c
  ref.py serve PYCRATE_DIR GENERATED.py        then lines "TYPE HEX" in, one JSON line out each:
      {"jer": <pycrate's JER of the decoded value>, "hex": <its C-OER re-encoding>, "selfConsistent": <bool>}
      or {"error": "...", "internal": <bool>}. selfConsistent says whether pycrate decodes its own re-encoding
      to the same JER; internal marks an exception that is not one of pycrate's ASN.1 errors (a crash inside it).
pycrate prints warnings on stdout; result lines are the ones that start with '{'."""
import glob, importlib.util, json, sys

def main():
    cmd, pycrate_dir = sys.argv[1], sys.argv[2]
    sys.path.insert(0, pycrate_dir)
    if cmd == 'compile':
        from pycrate_asn1c.asnproc import compile_text, generate_modules, PycrateGenerator
        files = sorted(glob.glob(sys.argv[3] + '/*.asn'))
        compile_text([open(f, encoding='utf-8', errors='replace').read() for f in files], filenames=files)
        generate_modules(PycrateGenerator, sys.argv[4])
        return
    from pycrate_asn1rt.err import ASN1Err
    spec = importlib.util.spec_from_file_location('gen', sys.argv[3])
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    types = {}
    for name in dir(gen):
        mod = getattr(gen, name)
        for obj in getattr(mod, '_all_', []):
            types.setdefault(obj._name, obj)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        t, _, h = line.partition(' ')  # a value of no octets (NULL) has an empty hex
        try:
            o = types[t]
            o.from_oer(bytes.fromhex(h))
            jer = o.to_jer()
            again = o.to_coer()
            o.from_oer(again)
            out = {'jer': json.loads(jer), 'hex': again.hex(), 'selfConsistent': o.to_jer() == jer}
        except Exception as e:
            out = {'error': '%s: %s' % (type(e).__name__, e), 'internal': not isinstance(e, ASN1Err)}
        print('\n' + json.dumps(out), flush=True)

main()
