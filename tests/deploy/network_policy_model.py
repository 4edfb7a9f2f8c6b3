"""The rendered NetworkPolicies as a model that answers "may A connect to B on port P?".

There is no cluster in these tests, so the policies are evaluated here the way Kubernetes does; the tests
then compare the connections allowed against the service paths the application needs (expected_paths),
which catches both a path left closed and one opened by a stray label or rule.
"""

import ipaddress

from tests.deploy.kubernetes_render import container_ports, matches, objects, pod_labels, workloads

PUBLIC_IP = "203.0.113.7"  # stands for any client on the internet
INTERNET = ("93.184.216.34", "2606:2800:220:1::1")  # a public IPv4 and IPv6 address (a video site, the HF Hub)
PRIVATE = ("10.0.0.1", "172.16.5.4", "192.168.1.1", "100.64.0.1", "169.254.169.254", "127.0.0.1",
           "fd00::1", "fe80::1", "::ffff:10.0.0.1")


class Network:
    """The rendered NetworkPolicies, evaluated the way Kubernetes does: a pod selected by no policy of a
    direction is open in that direction; otherwise a connection needs a rule allowing it, and pod-to-pod
    traffic needs both the sender's egress and the receiver's ingress."""

    def __init__(self, docs: list[dict]):
        self.policies = list(objects(docs, "NetworkPolicy").values())
        self.pods = {w["metadata"]["name"]: w for w in workloads(docs)}

    def _port_ok(self, rule: dict, port: int, protocol: str, ports: dict[str, int]) -> bool:
        if not rule.get("ports"):
            return True
        for allowed in rule["ports"]:
            number = ports.get(allowed["port"]) if isinstance(allowed.get("port"), str) else allowed.get("port")
            if allowed.get("protocol", "TCP") == protocol and (number is None or number == port
                                                               or number <= port <= allowed.get("endPort", number)):
                return True
        return False

    @staticmethod
    def _peer_ok(peer: dict, other: tuple) -> bool:
        kind, value = other
        if "ipBlock" in peer:
            if kind != "ip":
                return False  # pod IPs are private, so no ipBlock here may cover them (checked elsewhere)
            address = ipaddress.ip_address(value)
            block = peer["ipBlock"]
            network = ipaddress.ip_network(block["cidr"])
            if address.version != network.version or address not in network:
                return False
            return not any(address in ipaddress.ip_network(e) for e in block.get("except", [])
                           if ipaddress.ip_network(e).version == address.version)
        if kind == "pod":
            return "namespaceSelector" not in peer and matches(peer.get("podSelector"), value)
        if kind == "foreign-pod":
            namespace_labels, labels = value
            return ("namespaceSelector" in peer and matches(peer["namespaceSelector"], namespace_labels)
                    and matches(peer.get("podSelector"), labels))
        return False

    def _allowed(self, direction: str, labels: dict, other: tuple, port: int, protocol: str,
                 ports: dict[str, int]) -> bool:
        key, peers = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        selecting = [p for p in self.policies if matches(p["spec"]["podSelector"], labels)
                     and direction in p["spec"].get("policyTypes", ["Ingress"])]
        if not selecting:
            return True
        return any(self._port_ok(rule, port, protocol, ports)
                   and (not rule.get(peers) or any(self._peer_ok(peer, other) for peer in rule[peers]))
                   for policy in selecting for rule in policy["spec"].get(key, []))

    def egress_ok(self, source: str, target: str, port: int) -> bool:
        src, dst = self.pods[source], self.pods[target]
        return self._allowed("Egress", pod_labels(src), ("pod", pod_labels(dst)), port, "TCP", container_ports(dst))

    def ingress_ok(self, source: str, target: str, port: int) -> bool:
        src, dst = self.pods[source], self.pods[target]
        return self._allowed("Ingress", pod_labels(dst), ("pod", pod_labels(src)), port, "TCP", container_ports(dst))

    def pod_to_pod(self, source: str, target: str, port: int) -> bool:
        return self.egress_ok(source, target, port) and self.ingress_ok(source, target, port)

    def from_outside(self, target: str, port: int) -> bool:
        dst = self.pods[target]
        return self._allowed("Ingress", pod_labels(dst), ("ip", PUBLIC_IP), port, "TCP", container_ports(dst))

    def to_address(self, source: str, address: str, port: int) -> bool:
        return self._allowed("Egress", pod_labels(self.pods[source]), ("ip", address), port, "TCP", {})

    def to_dns(self, source: str) -> bool:
        dns = ("foreign-pod", ({"kubernetes.io/metadata.name": "kube-system"}, {"k8s-app": "kube-dns"}))
        return all(self._allowed("Egress", pod_labels(self.pods[source]), dns, 53, protocol, {})
                   for protocol in ("UDP", "TCP"))

    def every_pod_path(self) -> set[tuple[str, str, int]]:
        """Every (source pod, target pod, target container port) that a policy might allow or deny."""
        return {(source, target, port)
                for source in self.pods for target, workload in self.pods.items() if target != source
                for port in container_ports(workload).values()}


def expected_paths(docs: list[dict]) -> set[tuple[str, str, int]]:
    """The pod-to-pod connections the application needs: (client, server, port)."""
    def servers(component: str) -> dict[str, int]:
        return {name: container_ports(d)["http"] for name, d in objects(docs, "Deployment").items()
                if pod_labels(d).get("app.kubernetes.io/component") == component}

    models = servers("model-server")
    paths = {("gateway", "orchestrator", 8001), ("gateway", "media-service", 8002),
             ("orchestrator", "media-service", 8002), ("orchestrator", "postgres", 5432),
             ("orchestrator-migrate", "postgres", 5432)}
    paths |= {(client, model, port) for model, port in models.items() for client in ("gateway", "orchestrator")}
    # Speech-to-text is the orchestrator's alone: the gateway passes chat calls through, never audio.
    paths |= {("orchestrator", speech, port) for speech, port in servers("speech-server").items()}
    return paths
