/**
 * Host capability probes, one per source (CPU from {@code /proc/cpuinfo}, memory from
 * {@code /proc/meminfo} and cgroups, ONNX Runtime's build, one probe per GPU vendor, a bandwidth
 * measurement), composed by {@code SystemHostProbe}. Not an API: use {@link dev.edgelm.daemon.HostProbe}.
 */
package dev.edgelm.daemon.internal.probe;
