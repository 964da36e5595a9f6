package io.herd.benchmarks.goals;

/**
 * One line of the harness's summary: a goal, the figure measured for it, and whether it is met.
 * Printed as {@code SUMMARY<TAB>goal<TAB>figure<TAB>✔|✘|-}, which bench/pool-goals.sh collects
 * into its summary table ({@code -}: context, no goal).
 */
final class Summary {

  private Summary() {}

  static void print(String goal, String figure, Boolean met) {
    System.out.println("SUMMARY\t" + goal + "\t" + figure + "\t"
        + (met == null ? "-" : met ? "✔" : "✘"));
  }
}
