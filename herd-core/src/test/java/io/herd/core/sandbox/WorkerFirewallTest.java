package io.herd.core.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The rulesets as text; {@code SandboxNetworkTest} proves what they do on real workers. */
class WorkerFirewallTest {

  @Test
  void workerRulesetAcceptsOnlyTheGatewayInAndOnlyEgressOut() throws Exception {
    String rules = WorkerFirewall.ruleset(InetAddress.getByName("10.213.0.5"),
        InetAddress.getByName("10.213.0.6"), List.of(EgressRule.parse("internet:443").orElseThrow(),
            EgressRule.parse("10.1.2.3:53").orElseThrow()));

    assertThat(rules).contains(
        "chain input {\n    type filter hook input priority filter; policy drop;\n"
            + "    iif \"lo\" accept\n    ct state established,related accept\n"
            + "    iifname \"eth0\" ip saddr 10.213.0.5 meta l4proto tcp accept\n  }",
        "    oifname \"eth0\" ip daddr != { 0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8,"
            + " 169.254.0.0/16, 172.16.0.0/12, 192.168.0.0/16, 224.0.0.0/4, 240.0.0.0/4 } meta"
            + " l4proto { tcp, udp } th dport 443 accept\n"
            + "    oifname \"eth0\" ip daddr 10.1.2.3 meta l4proto { tcp, udp } th dport 53 accept\n"
            + "    reject with icmpx type admin-prohibited\n",
        "iifname \"eth0\" ip saddr 10.213.0.5 ip daddr 10.213.0.6 meta l4proto tcp dnat ip to"
            + " 127.0.0.1");
  }

  @Test
  void hostTableKeepsWorkersOffTheHostAndMasqueradesOnlyWithEgress() {
    Ipv4Range range = Ipv4Range.parse("10.213.0.0/16");

    String without = HostFirewall.ruleset("herd-1-1", "hv1-", range, false);
    String with = HostFirewall.ruleset("herd-1-1", "hv1-", range, true);

    assertThat(without).contains("iifname \"hv1-*\" ct state established,related accept\n"
        + "    iifname \"hv1-*\" drop\n", "    oifname \"hv1-*\" drop\n",
        "    iifname \"hv1-*\" oifname \"hv*\" drop\n").doesNotContain("masquerade");
    assertThat(with).contains("ip saddr 10.213.0.0/16 oifname != \"hv*\" masquerade");
  }
}
