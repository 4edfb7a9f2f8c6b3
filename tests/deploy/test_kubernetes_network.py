"""deploy/kubernetes: what each overlay exposes, and what may talk to what.

Only the gateway is reachable from outside (no other Service type, Ingress backend or route), every
Service lands on a declared container port, and the NetworkPolicies, evaluated as Kubernetes does
(network_policy_model.py), allow exactly the connections the services need: no more between pods, the
internet only for the pods that download (videos, model weights), and no private address ranges.
"""


from tests.deploy.kubernetes_render import (
    LONG_RUNNING,
    container_ports,
    matches,
    objects,
    pod_labels,
    render,
    workloads,
)
from tests.deploy.network_policy_model import INTERNET, PRIVATE, Network, expected_paths

# ------------------------------------------------------------------------------ services and exposure



def test_only_the_gateway_is_exposed(docs):
    for name, service in objects(docs, "Service").items():
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP", name
        assert not service["spec"].get("externalIPs"), name
    ingresses = objects(docs, "Ingress").values()
    backends = {path["backend"]["service"]["name"]
                for ingress in ingresses for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]}
    assert backends == {"gateway"}
    assert all("defaultBackend" not in ingress["spec"] for ingress in ingresses)
    assert not [doc for doc in docs if doc["kind"] in ("Route", "Gateway", "HTTPRoute", "IngressRoute")]


def test_every_service_selects_pods_on_a_declared_port(docs):
    pods = workloads(docs, LONG_RUNNING)
    for name, service in objects(docs, "Service").items():
        selected = [w for w in pods if matches({"matchLabels": service["spec"]["selector"]}, pod_labels(w))]
        assert len(selected) == 1, f"Service {name} selects {[w['metadata']['name'] for w in selected]}"
        ports = container_ports(selected[0])
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports or port["targetPort"] in ports.values(), name


# ------------------------------------------------------------------------------ network policies


def test_network_policies_allow_exactly_the_service_paths(docs):
    network = Network(docs)
    assert any(p["spec"]["podSelector"] == {} and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
               and not p["spec"].get("ingress") and not p["spec"].get("egress") for p in network.policies)
    every = network.every_pod_path()
    expected = expected_paths(docs)
    assert {path for path in every if network.pod_to_pod(*path)} == expected
    # Each side holds on its own: a label or rule added by mistake on one side opens nothing. (The gateway
    # takes connections from anywhere, so only the senders' egress guards it.)
    assert {path for path in every if network.egress_ok(*path)} == expected
    assert {path for path in every if path[1] != "gateway" and network.ingress_ok(*path)} == expected


def test_only_the_gateway_is_reachable_from_outside(docs):
    network = Network(docs)
    reachable = {(name, port) for name, w in network.pods.items() for port in container_ports(w).values()
                 if network.from_outside(name, port)}
    assert reachable == {("gateway", 8000)}


def test_only_downloaders_reach_the_internet_and_nobody_private_ranges(overlay, docs):
    network = Network(docs)
    for name in network.pods:
        downloads = name == "media-service" or name.startswith("vllm-")  # videos; Hugging Face weights
        for address in INTERNET:
            assert network.to_address(name, address, 443) == downloads, (name, address)
        assert network.to_address(name, INTERNET[0], 8080) == (name == "media-service"), name
        for address in PRIVATE:
            for port in (80, 443, 5432, 8000):
                assert not network.to_address(name, address, port), (name, address, port)
        assert network.to_dns(name), f"{name} cannot resolve names"


def test_only_the_orchestrator_reaches_the_speech_server():
    docs = render("gpu")
    speech = [name for name, d in objects(docs, "Deployment").items()
              if pod_labels(d).get("app.kubernetes.io/component") == "speech-server"]
    assert speech == ["vllm-whisper-turbo-speech-fp16"]
    network = Network(docs)
    [server] = speech
    port = container_ports(network.pods[server])["http"]
    callers = {name for name in network.pods if name != server and network.pod_to_pod(name, server, port)}
    assert callers == {"orchestrator"}
    assert not network.from_outside(server, port)
