package org.fieldproof.android.sync

import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.net.NetworkRequest

/**
 * Asks for a sync as soon as a network with internet returns, instead of waiting
 * out a backoff scheduled while offline. Callbacks reach a running process only:
 * register it in `Application.onCreate`; while the process is gone, the job's
 * network constraint does the same work.
 */
class ConnectivityTrigger(private val context: Context) : ConnectivityManager.NetworkCallback() {
    override fun onAvailable(network: Network) {
        SyncScheduler.requestNow(context)
    }

    fun register() {
        val request = NetworkRequest.Builder()
            .addCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET)
            .build()
        context.getSystemService(ConnectivityManager::class.java).registerNetworkCallback(request, this)
    }

    fun unregister() {
        context.getSystemService(ConnectivityManager::class.java).unregisterNetworkCallback(this)
    }
}
