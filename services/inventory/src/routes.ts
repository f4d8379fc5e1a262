// Thin handlers: protobuf in, domain call with the caller's scope, protobuf out.
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { InvalidArgumentError, NotFoundError, kPrincipal, listPage, listPageByKeys, scopeOf } from "@bulkhead/service-kit";
import { ImageService, MachineService } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { SwitchService } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { Lookup } from "./lookup.js";
import { Role, type Machines } from "./machines.js";
import { connectionMessage, imageMessage, machineMessage, portViewMessage, switchMessage, vrfMessage } from "./mappers.js";
import type { NetworkPort } from "./network.js";
import type { MachineRow, MachineStore } from "./store/machines.js";
import type { Switches } from "./switches.js";
import { SWITCH, type SwitchRow } from "./store/switches.js";
import { firewallNetworks, machineNetworks, readMachines, switchView, switchViews, type SwitchView } from "./views.js";

const scope = (ctx: HandlerContext, project: string) => scopeOf(ctx.values.get(kPrincipal), project);

const switchViewMessage = (sw: SwitchRow, view: SwitchView) => ({ switch: switchMessage(sw), ports: view.ports.map(portViewMessage), vrfs: view.vrfs.map(vrfMessage) });

export function inventoryRoutes(switches: Switches, machines: Machines, store: MachineStore, network: NetworkPort) {
  const withNetworks = async (row: MachineRow, lookup = new Lookup(network)) => machineMessage(row, await machineNetworks(row, lookup));
  /** Runs a domain call with the request's network-service reads, and answers the machine it returns with them. */
  const answering = async (call: (lookup: Lookup) => Promise<MachineRow>) => {
    const lookup = new Lookup(network);
    return { machine: await withNetworks(await call(lookup), lookup) };
  };
  return (router: ConnectRouter) => {
    router.service(SwitchService, {
      async registerSwitch(req) {
        return { switch: switchMessage(await switches.register(req)) };
      },
      async switchHeartbeat(req) {
        await switches.heartbeat(req);
        return {};
      },
      async getSwitch(req) {
        return { switch: switchMessage(await switches.get(req.id)) };
      },
      async listSwitches(req) {
        const filter = { partition: req.partition || undefined, rack: req.rack || undefined, role: req.role || undefined };
        const { items, nextPageToken } = await listPage(req, (after, limit) => switches.list(filter, { after, limit }), (sw) => sw.id);
        return { switches: items.map(switchMessage), nextPageToken };
      },
      async deleteSwitch(req) {
        return { switch: switchMessage(await switches.delete(req.id)) };
      },
      async setPortAdminState(req) {
        return { switch: switchMessage(await switches.setAdminState(req.id, req.port, req.adminState as 1 | 2)) };
      },
      async listConnectedMachines(req) {
        const filter = { partition: req.partition || undefined, switch: req.switch || undefined, machine: req.machine || undefined };
        const { items, nextPageToken } = await listPageByKeys(req, 2, (after, limit) => switches.connections(filter, { after, limit }), (c) => [c.switch, c.port]);
        return { connections: items.map(connectionMessage), nextPageToken };
      },
      async getSwitchView(req) {
        const [cabled] = await switches.cabled([req.device]);
        if (!cabled) throw new NotFoundError(SWITCH, req.device);
        return switchViewMessage(cabled.sw, await switchView(cabled, store, new Lookup(network)));
      },
      async getSwitchViews(req) {
        const cabled = await switches.cabled(req.devices);
        const views = await switchViews(cabled, store, new Lookup(network));
        const found = new Set(cabled.map((c) => c.sw.id));
        return { views: cabled.map((c, i) => switchViewMessage(c.sw, views[i]!)), missing: req.devices.filter((d) => !found.has(d)) };
      },
    });
    router.service(MachineService, {
      async registerMachine(req) {
        return { machine: machineMessage(await machines.register(req.device, req.nics, req.bmc)) };
      },
      async getMachine(req, ctx) {
        return { machine: await withNetworks(await machines.get(scope(ctx, req.project), req.id)) };
      },
      async listMachines(req, ctx) {
        const filter = { partition: req.partition || undefined, rack: req.rack || undefined, state: req.state || undefined, role: req.role || undefined, ids: req.ids.length > 0 ? req.ids : undefined };
        const { items, nextPageToken } = await listPage(req, (after, limit) => machines.list(scope(ctx, req.project), filter, after, limit), (m) => m.id);
        const lookup = new Lookup(network);
        await readMachines(items, lookup);
        return { machines: await Promise.all(items.map((m) => withNetworks(m, lookup))), nextPageToken };
      },
      allocateMachine(req, ctx) {
        return answering((lookup) => machines.allocate(scope(ctx, req.project), req, Role.Machine, lookup));
      },
      allocateFirewall(req, ctx) {
        return answering((lookup) => machines.allocate(scope(ctx, req.project), req, Role.Firewall, lookup));
      },
      reportInstallation(req) {
        return answering((lookup) => machines.reportInstallation(req.device, req.succeeded, req.message, lookup));
      },
      async freeMachine(req, ctx) {
        return { machine: machineMessage(await machines.free(scope(ctx, req.project), req.id)) };
      },
      async deleteMachine(req) {
        return { machine: machineMessage(await machines.delete(req.id)) };
      },
      async setBmcCredentials(req) {
        return { machine: machineMessage(await machines.setBmc(req.id, req.credentials!)) };
      },
      async getMachineView(req) {
        const stored = await store.get(req.device);
        if (!stored) throw new NotFoundError("bulkhead.inventory.v1.Machine", req.device);
        // An allocation still being made (its addresses not all taken) or undone is no allocation
        // yet for the agent and the renderer: a firewall is rendered only once it is complete.
        const row = stored.allocation && stored.allocation.state !== "ready" ? { ...stored, allocation: null } : stored;
        const networks = row.allocation?.role === 2 ? await firewallNetworks(row, new Lookup(network), store) : await machineNetworks(row, new Lookup(network));
        const underlayIps = networks.filter((n) => n.role === 4).flatMap((n) => n.ips);
        return {
          machine: machineMessage(row, networks),
          uplinks: row.connections.map((c) => ({ nic: c.nic, switch: c.switch, port: c.port })),
          underlayIps,
        };
      },
    });
    router.service(ImageService, {
      async createImage(req) {
        const { algorithm, digest } = req.checksum!;
        if ((algorithm === "sha256") !== (digest.length === 64)) throw new InvalidArgumentError("checksum.digest", `a ${algorithm} digest has ${algorithm === "sha256" ? 64 : 128} hex digits`);
        return { image: imageMessage(await store.createImage({ name: req.name, description: req.description, url: req.url, checksum_algorithm: algorithm as "sha256" | "sha512", checksum_digest: digest })) };
      },
      async getImage(req) {
        const image = await store.getImage(req.name);
        if (!image) throw new NotFoundError("bulkhead.inventory.v1.Image", req.name);
        return { image: imageMessage(image) };
      },
      async listImages(req) {
        const { items, nextPageToken } = await listPage(req, (after, limit) => store.listImages({ after, limit }), (i) => i.name);
        return { images: items.map(imageMessage), nextPageToken };
      },
      async deleteImage(req) {
        return { image: imageMessage(await store.deleteImage(req.name)) };
      },
    });
  };
}
