package dev.edgelm.daemon.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.daemon.CapacityExceededException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class AdmissionTest {
  private final List<String> admitted = new ArrayList<>();

  private Admission.Waiter waiter(String name) {
    return () -> admitted.add(name);
  }

  @Test
  void enter_admitsUpToMaxConcurrent_thenQueues_thenRefuses() {
    Admission a = new Admission("m", 2, 1);
    assertEquals(Admission.Entry.ADMITTED, a.enter(waiter("1")));
    assertEquals(Admission.Entry.ADMITTED, a.enter(waiter("2")));
    assertEquals(Admission.Entry.QUEUED, a.enter(waiter("3")));
    CapacityExceededException e = assertThrows(CapacityExceededException.class, () -> a.enter(waiter("4")));
    assertTrue(e.getMessage().contains("'m'"), e.getMessage());
    assertEquals(2, a.running());
    assertEquals(1, a.queued());
  }

  @Test
  void rejoin_aLenderGetsAFreeSlotAtOnce_elseIsFirstInLine_beyondMaxQueued() {
    Admission a = new Admission("m", 1, 1);
    a.enter(waiter("lender"));
    a.enter(waiter("new"));
    a.release(); // the lender lends its slot to "new"
    assertEquals(List.of("new"), admitted);
    assertEquals(Admission.Entry.QUEUED, a.enter(waiter("later")));
    assertEquals(Admission.Entry.QUEUED, a.rejoin(waiter("lender")), "queued although max_queued is reached");
    assertEquals(2, a.queued());
    a.release();
    assertEquals(List.of("new", "lender"), admitted, "ahead of the call that arrived before it rejoined");
    a.release();
    a.release();
    assertEquals(0, a.running());
    assertEquals(Admission.Entry.ADMITTED, a.rejoin(waiter("again")));
  }

  @Test
  void enter_thatQueues_tellsOneLenderOnce() {
    Admission a = new Admission("m", 1, 2);
    a.enter(waiter("holder"));
    List<String> told = new ArrayList<>();
    Admission.Lender first = () -> told.add("first");
    Admission.Lender second = () -> told.add("second");
    a.offerToLend(first);
    a.offerToLend(second);
    a.withdrawOffer(second);
    a.enter(waiter("w1"));
    a.enter(waiter("w2"));
    assertEquals(List.of("first"), told, "one lender per queued call; a withdrawn offer is not told");
  }

  @Test
  void release_handsTheSlotToTheLongestWaiter() {
    Admission a = new Admission("m", 1, 3);
    a.enter(waiter("1"));
    a.enter(waiter("2"));
    a.enter(waiter("3"));
    a.release();
    assertEquals(List.of("2"), admitted);
    assertEquals(1, a.running());
    a.release();
    a.release();
    assertEquals(List.of("2", "3"), admitted);
    assertEquals(0, a.running());
    assertThrows(IllegalStateException.class, a::release);
  }

  @Test
  void leave_removesAQueuedWaiterOnly() {
    Admission a = new Admission("m", 1, 2);
    Admission.Waiter w = waiter("2");
    a.enter(waiter("1"));
    a.enter(w);
    assertTrue(a.leave(w));
    assertFalse(a.leave(w));
    a.release();
    assertTrue(admitted.isEmpty());
    assertEquals(0, a.running());
  }

  @Test
  void enter_withoutQueue_refusesAsSoonAsSlotsAreTaken() {
    Admission a = new Admission("m", 1, 0);
    a.enter(waiter("1"));
    assertThrows(CapacityExceededException.class, () -> a.enter(waiter("2")));
  }
}
