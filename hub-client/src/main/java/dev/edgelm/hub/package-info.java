/** edgelm hub-client. */
package dev.edgelm.hub;
