package io.herd.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class EtcdServerTest {

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  @Test
  void keepsItsDataAndPortsAcrossStopAndStart() throws Exception {
    try (EtcdServer etcd = new EtcdServer()) {
      URI url = etcd.clientUrl();
      assertThat(etcd.isRunning()).isFalse();
      etcd.start();
      put(url, "k", "v1");

      etcd.stop();
      assertThat(etcd.isRunning()).isFalse();
      assertThatThrownBy(() -> get(url, "k")).isInstanceOf(IOException.class);

      etcd.start();
      assertThat(etcd.clientUrl()).isEqualTo(url);
      assertThat(get(url, "k")).as("value after a restart").contains(base64("v1"));
    }
  }

  @Test
  void killEndsTheProcessAndStartBringsItBack() throws Exception {
    try (EtcdServer etcd = new EtcdServer().start()) {
      long pid = etcd.pid();
      put(etcd.clientUrl(), "k", "v");
      etcd.kill();
      assertThat(Processes.isAlive(pid)).as("etcd after kill()").isFalse();
      etcd.start();
      assertThat(get(etcd.clientUrl(), "k")).contains(base64("v"));
    }
  }

  @Test
  void closeKillsEtcdAndDeletesItsDirectory() {
    EtcdServer etcd = new EtcdServer().start();
    long pid = etcd.pid();
    assertThat(Files.exists(etcd.logFile())).isTrue();
    etcd.close();
    etcd.close();
    assertThat(Processes.isAlive(pid)).as("etcd after close()").isFalse();
    assertThat(Files.exists(etcd.dataDirectory())).isFalse();
    assertThatThrownBy(etcd::start).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void twoServersGetTheirOwnPorts() {
    try (EtcdServer a = new EtcdServer().start();
        EtcdServer b = new EtcdServer().start()) {
      assertThat(a.clientUrl()).isNotEqualTo(b.clientUrl());
    }
  }

  /** Puts through etcd's JSON gateway (v3 API, base64 keys and values). */
  private void put(URI url, String key, String value) throws Exception {
    String body = "{\"key\":\"" + base64(key) + "\",\"value\":\"" + base64(value) + "\"}";
    HttpResponse<String> response = post(url.resolve("/v3/kv/put"), body);
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
  }

  private String get(URI url, String key) throws Exception {
    HttpResponse<String> response =
        post(url.resolve("/v3/kv/range"), "{\"key\":\"" + base64(key) + "\"}");
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return response.body();
  }

  private HttpResponse<String> post(URI uri, String body) throws Exception {
    HttpRequest request =
        HttpRequest.newBuilder(uri)
            .timeout(Duration.ofSeconds(5))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build();
    return http.send(request, HttpResponse.BodyHandlers.ofString());
  }

  private static String base64(String text) {
    return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
  }
}
