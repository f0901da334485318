// The Fieldproof Android library: this folder's Kotlin glue, the uniffi-generated
// Kotlin (made by ../scripts/bindings into ../target/bindings/kotlin) and
// libfieldproof_ffi.so for each ABI (made by scripts/build-native into
// build/jniLibs). Not built on the project's CI machines, which have no Android
// SDK: there, scripts/test-android compiles the same sources with kotlinc against
// the real framework classes and runs the JVM tests (see ../README.md, Android).
plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.1.21"
}

android {
    namespace = "org.fieldproof.android"
    compileSdk = 35

    defaultConfig {
        minSdk = 23
        consumerProguardFiles("consumer-rules.pro")
    }

    sourceSets["main"].apply {
        kotlin.srcDirs("src/main/kotlin", "../target/bindings/kotlin")
        jniLibs.srcDirs("build/jniLibs")
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    // The generated bindings call the .so through JNA (the aar carries its own .so files).
    implementation("net.java.dev.jna:jna:5.14.0@aar")
    implementation("com.squareup.okhttp3:okhttp:5.5.1")
}

// The generated Kotlin and the native libraries come from the Rust workspace.
val rustBindings by tasks.registering(Exec::class) {
    workingDir = rootDir.parentFile
    commandLine("scripts/bindings")
}
val rustNative by tasks.registering(Exec::class) {
    workingDir = rootDir
    commandLine("scripts/build-native")
}
tasks.named("preBuild") { dependsOn(rustBindings, rustNative) }
