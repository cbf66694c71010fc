import { resolve } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { clusterSpec, type ClusterSpec } from "../../src/cluster/spec.js";
import { loadInventory } from "../../src/inventory/load.js";
import { fileNameOf, objectYaml, rankOf, REVISION_ANNOTATION, MANAGED_LABEL } from "../../src/addons/objects.js";
import { loadBundles } from "../../src/addons/prepare.js";
import { renderAddons, renderedObjects } from "../../src/addons/render/index.js";
import { chooseRouteReflectors } from "../../src/addons/render/calico.js";
import { CINDER_NODE_PLUGIN, placeCinderNodePlugin } from "../../src/addons/render/storage.js";
import { ADDON_BUNDLES, type Inventory } from "../../src/inventory/schema.js";
import { matchGolden } from "../support/golden.js";

const GOLDEN = resolve(import.meta.dirname, "golden");
/** A made-up credential: golden files must never hold a real one. */
const CREDENTIAL = { id: "0123456789abcdef0123456789abcdef", secret: "not-a-real-secret" };

function example(): ClusterSpec & { file: string } {
  const res = loadInventory("example");
  if (!res.ok) throw new Error("example inventory is invalid");
  return { ...clusterSpec(res.env, res.inventory), file: res.file };
}

describe("rendered cluster objects of the example environment", () => {
  const spec = example();
  const objs = renderedObjects(spec, ADDON_BUNDLES, CREDENTIAL);

  it("renders every kind the issue names", () => {
    const kinds = objs.map((o) => `${o.kind}/${o.metadata.name}`);
    for (const k of [
      "Secret/cloud-config",
      "Installation/default",
      "BGPConfiguration/default",
      "BGPPeer/peer-with-route-reflectors",
      "Node/cp-1",
      "StorageClass/standard",
      "StorageClass/nfs",
      "ConfigMap/k8s-auth-policy",
      "ConfigMap/keystone-sync-policy",
      "ConfigMap/coredns",
      "Service/kube-dns",
    ]) {
      expect(kinds).toContain(k);
    }
  });

  it.each(objs.map((o) => [fileNameOf(o), o] as const))("%s matches its golden file", (name, o) => {
    const text = objectYaml(o);
    expect(parse(text)).toEqual(o); // the YAML is a faithful rendering of the object
    matchGolden(GOLDEN, name, text);
  });
});

describe("stamping and ordering", () => {
  it("labels and annotates every object and sorts by rank", async () => {
    const spec = example();
    const bundles = await loadBundles(spec, spec.file);
    const all = renderAddons(spec, { bundles, credential: CREDENTIAL });
    const ranks = all.map((o) => rankOf(o.kind));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    for (const o of all) {
      expect(o.metadata.labels?.[MANAGED_LABEL]).toBe("true");
      expect(o.metadata.annotations?.[REVISION_ANNOTATION]).toMatch(/^[0-9a-f]{32}$/);
    }
    // The rendered Corefile replaces the bundle's.
    const corefiles = all.filter((o) => o.kind === "ConfigMap" && o.metadata.name === "coredns");
    expect(corefiles).toHaveLength(1);
    expect(JSON.stringify(corefiles[0])).toContain("cluster.local");
    // A change anywhere in an object changes its revision.
    const again = renderAddons(
      {
        ...spec,
        inventory: { ...spec.inventory, cluster: { ...spec.inventory.cluster, dnsUpstreams: ["192.168.10.3"] } },
      },
      { bundles, credential: CREDENTIAL },
    );
    const rev = (xs: typeof all) =>
      xs.find((o) => o.kind === "ConfigMap" && o.metadata.name === "coredns")!.metadata.annotations![
        REVISION_ANNOTATION
      ];
    expect(rev(again)).not.toBe(rev(all));
  });

  it("refuses to render cloud.conf without a credential, naming where one comes from", () => {
    expect(() => renderedObjects(example(), ["cinder-csi"], undefined)).toThrow(/addons.cloudCredentialFile/);
  });
});

describe("route reflectors", () => {
  const withNodes = (
    rr: Partial<Inventory["networking"]["calico"]["routeReflectors"]>,
    racks: (string | undefined)[],
  ) => {
    const spec = example();
    const inventory = {
      ...spec.inventory,
      networking: {
        ...spec.inventory.networking,
        calico: {
          ...spec.inventory.networking.calico,
          routeReflectors: { ...spec.inventory.networking.calico.routeReflectors, nodes: [], ...rr },
        },
      },
    };
    const nodes = racks.map((rack, i) => ({
      ...spec.nodes[0]!,
      name: `n${i + 1}`,
      role: i < 3 ? ("control-plane" as const) : ("worker" as const),
      rack,
      zone: undefined,
    }));
    return { ...spec, inventory, nodes };
  };

  it.each([
    { racks: ["a", "a", "b"], count: 2, want: ["n1", "n3"] },
    { racks: ["a", "a", "a", "b"], count: 2, want: ["n1", "n4"] },
    { racks: ["a", "b", "c"], count: 3, want: ["n1", "n2", "n3"] },
    { racks: [undefined, undefined, undefined], count: 2, want: ["n1", "n2"] },
  ])("picks $count spread across racks $racks", ({ racks, count, want }) => {
    expect(chooseRouteReflectors(withNodes({ count }, racks)).map((n) => n.name)).toEqual(want);
  });

  it("takes the inventory's nodes as written, and none when disabled", () => {
    expect(chooseRouteReflectors(withNodes({ nodes: ["n3", "n2"] }, ["a", "b", "c"])).map((n) => n.name)).toEqual([
      "n3",
      "n2",
    ]);
    expect(chooseRouteReflectors(withNodes({ enabled: false }, ["a", "b", "c"]))).toEqual([]);
  });
});

describe("Cinder node plugin placement", () => {
  it("is held to VM nodes by name, and dropped without VMs", async () => {
    const spec = example();
    const [cinder] = await loadBundles(
      {
        ...spec,
        inventory: {
          ...spec.inventory,
          addons: { ...spec.inventory.addons, bundles: { "cinder-csi": spec.inventory.addons.bundles["cinder-csi"] } },
        },
      },
      spec.file,
    );
    const placed = placeCinderNodePlugin(spec, cinder!.objects);
    const ds = placed.find((o) => o.metadata.name === CINDER_NODE_PLUGIN.name)!;
    const vms = spec.nodes.filter((n) => n.kind === "vm").map((n) => n.name);
    expect(JSON.stringify(ds)).toContain(JSON.stringify({ key: "metadata.name", operator: "In", values: vms }));
    expect(vms).not.toContain("metal-1");
    const noVms = { ...spec, nodes: spec.nodes.filter((n) => n.kind !== "vm") };
    expect(placeCinderNodePlugin(noVms, cinder!.objects).map((o) => o.metadata.name)).not.toContain(
      CINDER_NODE_PLUGIN.name,
    );
  });
});
