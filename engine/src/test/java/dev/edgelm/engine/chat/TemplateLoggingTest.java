package dev.edgelm.engine.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** Jinjava logs through SLF4J: without a provider, SLF4J prints a three-line warning on every CLI run. */
class TemplateLoggingTest {
  @Test
  void jinjavasSlf4jLogging_goesToJavaUtilLogging() {
    assertEquals("org.slf4j.jul.JDK14LoggerFactory", LoggerFactory.getILoggerFactory().getClass().getName());
  }
}
