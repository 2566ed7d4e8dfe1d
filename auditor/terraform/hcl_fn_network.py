"""Terraform's IP network functions: cidrhost, cidrnetmask, cidrsubnet, cidrsubnets.

Addresses are handled as integers, following the go-cidr library Terraform uses: a prefix
with host bits set is taken as its network (``10.1.2.3/24`` is ``10.1.2.0/24``), a negative
host number counts back from the end of the range, and ``cidrsubnets`` allocates each
subnet right after the previous one, aligned to its own size, as ``cidr.NextSubnet`` does.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from auditor.terraform.hcl_fn_common import check_size, whole
from auditor.terraform.hcl_values import EvalError, to_str

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _network(prefix: object) -> Network:
    text = to_str(prefix)
    if "/" not in text:
        raise EvalError(f"invalid CIDR expression: invalid CIDR address: {text}")
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise EvalError(f"invalid CIDR expression: invalid CIDR address: {text}") from None


def _subnet(net: Network, start: int, length: int) -> str:
    return str(type(net)((start, length)))


def _cidrhost(prefix: object, hostnum: object) -> str:
    net, num = _network(prefix), whole(hostnum, "hostnum")
    size = net.num_addresses
    index = num if num >= 0 else size + num  # -1 is the last address of the range
    if not 0 <= index < size:
        raise EvalError(f"prefix of {net.prefixlen} does not accommodate a host numbered {num}")
    return str(type(net.network_address)(int(net.network_address) + index))


def _cidrnetmask(prefix: object) -> str:
    net = _network(prefix)
    if net.version != 4:
        raise EvalError(f"IPv6 addresses cannot have a netmask: {to_str(prefix)}")
    return str(net.netmask)


def _cidrsubnet(prefix: object, newbits: object, netnum: object) -> str:
    net, bits, num = _network(prefix), whole(newbits, "newbits"), whole(netnum, "netnum")
    length = net.prefixlen + bits
    if bits < 0 or length > net.max_prefixlen:
        raise EvalError(f"insufficient address space to extend prefix of {net.prefixlen} by "
                        f"{bits}")
    if not 0 <= num < 2**bits:
        raise EvalError(f"prefix extension of {bits} does not accommodate a subnet numbered "
                        f"{num}")
    start = int(net.network_address) + (num << (net.max_prefixlen - length))
    return _subnet(net, start, length)


def _cidrsubnets(prefix: object, *newbits: object) -> list[object]:
    net = _network(prefix)
    total, base = net.max_prefixlen, net.prefixlen
    check_size(len(newbits), "cidrsubnets()")
    top, family = 2**total, "IPv4" if net.version == 4 else "IPv6"

    def aligned(address: int, length: int) -> int:
        return int(address & ~((1 << (total - length)) - 1) & (top - 1))

    if not newbits:
        return []
    first = base + whole(newbits[0], "newbits")
    current, current_len = aligned(int(net.network_address) - 1, first), first  # PreviousSubnet
    out: list[object] = []
    for i, extra in enumerate(newbits, 1):
        bits = whole(extra, "newbits")
        if bits < 1:
            raise EvalError(f"cidrsubnets(): argument {i + 1} must extend prefix by at least "
                            "one bit")
        if bits > 32:
            raise EvalError(f"cidrsubnets(): argument {i + 1} may not extend prefix by more "
                            "than 32 bits")
        length = base + bits
        if length > total:
            raise EvalError(f"cidrsubnets(): argument {i + 1} would extend prefix to {length} "
                            f"bits, which is too long for an {family} address")
        last = current + (1 << (total - current_len)) - 1  # NextSubnet
        after = aligned(last, length) + (1 << (total - length))
        if not int(net.network_address) <= after <= int(net.broadcast_address):
            raise EvalError(f"cidrsubnets(): not enough remaining address space for a subnet "
                            f"with a prefix of {length} bits after "
                            f"{_subnet(net, current, current_len)}")
        current, current_len = after, length
        out.append(_subnet(net, after, length))
    return out


FUNCTIONS: dict[str, Callable[..., object]] = {
    "cidrhost": _cidrhost, "cidrnetmask": _cidrnetmask, "cidrsubnet": _cidrsubnet,
    "cidrsubnets": _cidrsubnets,
}
