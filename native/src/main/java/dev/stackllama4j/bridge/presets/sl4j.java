package dev.stackllama4j.bridge.presets;

import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;
import org.bytedeco.javacpp.tools.Info;
import org.bytedeco.javacpp.tools.InfoMap;
import org.bytedeco.javacpp.tools.InfoMapper;

/**
 * JavaCPP mapping of cpp-src/include/stackllama4j.h. Only the mapping lives here: JavaCPP generates
 * {@code dev.stackllama4j.bridge.global.sl4j} and one class per opaque handle from it at build
 * time (never edit those); the rest of Java uses the facade in {@code dev.stackllama4j.engine}.
 */
@Properties(
        target = "dev.stackllama4j.bridge",
        global = "dev.stackllama4j.bridge.global.sl4j",
        value = @Platform(include = "stackllama4j.h", link = "stackllama4j"))
public class sl4j implements InfoMapper {
    @Override
    public void map(InfoMap infoMap) {
        infoMap.put(new Info("STACKLLAMA4J_H").cppTypes().annotations());
    }
}
